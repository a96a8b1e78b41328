"""Access tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

`CLOUT_ENCRYPTION_KEY` may list several comma-separated keys: the first encrypts, all decrypt,
so a key can be rotated without a flag day. On the embedded default a key is generated once
into the data directory, readable only by its owner.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import tempfile
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
    """Write the key whole beside `path`, then link it into place: a process starting at the
    same moment (serve starts web, worker and beat together) sees no key or the whole key,
    never an empty file, and the first to link wins, so all share one key."""
    private_dir(path.parent)
    fd, written = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key is the key
            os.link(written, path)
    finally:
        Path(written).unlink()
