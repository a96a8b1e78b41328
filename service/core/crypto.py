"""Access tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

`CLOUT_ENCRYPTION_KEY` may list several comma-separated keys: the first encrypts, all decrypt,
so a key can be rotated without a flag day. On the embedded default a key is generated once
into the data directory, readable only by its owner.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.core.config import ConfigError, Settings
from service.core.private import private_dir

KEY_FILE = "encryption.key"


class TokenVault:
    def __init__(self, keys: list[str]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except ValueError:
            raise ConfigError(
                "CLOUT_ENCRYPTION_KEY must be url-safe base64 of 32 bytes "
                "(generate one with `clout keys generate`)"
            ) from None

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored access token cannot be decrypted with CLOUT_ENCRYPTION_KEY: "
                "was the key changed without keeping the old one in the list?"
            ) from None


def same_secret(given: str, expected: str) -> bool:
    """Whether a secret a request carried (a signature, a nonce, a CSRF token) is the expected
    one, in constant time. On bytes: `hmac.compare_digest` refuses a `str` that is not ASCII
    with a TypeError, and a request can carry any text."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def generate_key() -> str:
    return Fernet.generate_key().decode()


def vault_for(settings: Settings) -> TokenVault:
    if settings.encryption_key:
        return TokenVault(settings.encryption_key.split(","))
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        _write_private(path, generate_key())
    return TokenVault([path.read_text().strip()])


def _write_private(path: Path, text: str) -> None:
    private_dir(path.parent)
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
