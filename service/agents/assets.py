"""The page's static files, fingerprinted and compressed.

A file's URL carries a digest of its bytes (`/agents/assets/<digest>/agents.js`), so a browser
may keep it for a year and a new release is fetched at once: a changed file has a new URL. The
digest and the gzip of each file are computed once per process, when first asked for (the
files ship with the package and do not change under a running server). Chart.js is 211 KB as
sent before; gzipped it is about a third of that.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC = Path(__file__).with_name("static")
DIGEST_LENGTH = 12
YEAR = 365 * 24 * 3600
# Below this a gzip saves less than its own header and the CPU it costs.
COMPRESS_FROM = 1_024
COMPRESSIBLE = ("text/", "application/javascript", "image/svg+xml", "application/json")


@dataclass(frozen=True)
class Asset:
    filename: str
    digest: str
    mimetype: str
    raw: bytes
    gzipped: bytes | None  # None when not worth compressing


def _read(path: Path, filename: str) -> Asset:
    raw = path.read_bytes()
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    worth = len(raw) >= COMPRESS_FROM and mimetype.startswith(COMPRESSIBLE)
    return Asset(
        filename=filename,
        digest=hashlib.sha256(raw).hexdigest()[:DIGEST_LENGTH],
        mimetype=mimetype,
        raw=raw,
        # mtime=0: the same bytes every time for the same file.
        gzipped=gzip.compress(raw, compresslevel=9, mtime=0) if worth else None,
    )


@cache
def _assets() -> dict[str, Asset]:
    # Every file there is, read once: a request names one of these or gets a 404, so nothing a
    # request carries reaches the filesystem (no traversal) or grows this table.
    return {
        path.relative_to(STATIC).as_posix(): _read(path, path.relative_to(STATIC).as_posix())
        for path in sorted(STATIC.rglob("*"))
        if path.is_file()
    }


def asset(filename: str) -> Asset | None:
    """The static file `filename` (relative to static/), or None for no such file."""
    return _assets().get(filename)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (not with q=0)."""
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=").strip()
            try:
                return not params.strip().startswith("q=") or float(quality) > 0
            except ValueError:
                return False
    return False
