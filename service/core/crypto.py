"""Access tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

`CLOUT_ENCRYPTION_KEY` may list several comma-separated keys: the first encrypts, all decrypt,
so a key can be rotated without a flag day. On the embedded default a key is generated once
into the data directory, readable only by its owner.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import re
import tempfile
import time
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
    _sweep_stale_copies(path)
    if not path.exists():
        _write_private(path, generate_key())
    key = _read_key(path)
    try:
        return TokenVault([key])
    except ConfigError:
        raise ConfigError(
            f"{path} holds no usable key ({'empty' if not key else 'not a Fernet key'}). If no "
            "shop is connected yet, delete it and start again; otherwise put back the key the "
            "shops' tokens were sealed with (a backup), or set CLOUT_ENCRYPTION_KEY to it"
        ) from None


# Where the data directory cannot hold a hard link (vfat, some network and FUSE mounts), the
# key is created in place and written at once: a process starting then may find it empty for
# a moment, and waits this long for the writer before it calls the file broken.
_KEY_WRITE_WAIT = 2.0


# A key's temporary copy older than this was left by a start that was killed while writing it
# (one being written now is a few milliseconds old).
_STALE_COPY = 60.0


def _sweep_stale_copies(path: Path) -> None:
    """Remove the temporary copies of the key a killed first start left (`_write_private`):
    each is a second copy of a secret, or of a key that never became the key."""
    if not path.parent.is_dir():
        return
    cutoff = time.time() - _STALE_COPY
    # Only names of the copy's own shape (`tempfile.mkstemp`'s eight characters): a backup an
    # operator keeps beside it (".encryption.key.bak") is theirs.
    shape = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}")
    for copy in path.parent.glob(f".{path.name}.*"):
        if not shape.fullmatch(copy.name):
            continue
        with contextlib.suppress(OSError):  # another start removed it first
            if copy.stat().st_mtime < cutoff:
                copy.unlink()


def _read_key(path: Path) -> str:
    deadline = time.monotonic() + _KEY_WRITE_WAIT
    while not (key := path.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return key


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
        try:
            os.link(written, path)
        except FileExistsError:
            pass  # another process's key is the key
        except OSError:
            _create_in_place(path, text)  # no hard links here
    finally:
        Path(written).unlink(missing_ok=True)  # a sweep may have taken a stalled copy
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the key's name durable: tokens sealed with a key whose file a power cut took back
    could never be read again."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # a platform that cannot open a directory (Windows)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _create_in_place(path: Path, text: str) -> None:
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
