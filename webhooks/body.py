"""The request's raw bytes, whole or refused."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge


def raw_body() -> bytes:
    """The body exactly as sent. Over the size limit with a Content-Length: 413 before anything
    is read (Werkzeug). Sent chunked, with no length, Werkzeug stops reading at the limit and
    hands back the first part as if it were the whole: a signature checked on that part fails,
    and the sender would be told 401 for a body that is only too large. So a chunked body that
    fills the limit is looked past: one byte more, and it is refused as too large."""
    raw = request.get_data(cache=False)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    sent_length = request.environ.get("CONTENT_LENGTH")
    if not sent_length and limit is not None and len(raw) >= limit:
        beyond = request.environ["wsgi.input"].read(1)
        if beyond:
            raise RequestEntityTooLarge
    return raw
