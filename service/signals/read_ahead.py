"""Read a delivery's texts before its handler's transaction opens.

The complaint detector is the slowest step of most handlers, and on SQLite a handler's
transaction holds the one write lock intake needs: every text the handler will read (review
words, order and refund notes, return notes) is read here first, outside any transaction, and
the detector remembers the verdicts (`text.analyse`), so inside the transaction it only looks
them up. A text read here and not there, or the other way round, costs time, never a wrong
answer: the handler always asks the detector itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from service.core.logs import get_logger
from service.signals import platforms, text
from service.signals.reviews import review_reading

log = get_logger(__name__)

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled"})


def _texts(topic_key: str, payload: Mapping[str, Any]) -> Iterator[tuple[str, float | None]]:
    if topic_key in ORDER_TOPICS or topic_key == "refunds/create":
        note = payload.get("note")
        if isinstance(note, str) and note:
            yield note, None
    elif topic_key == "returns/request":
        items = payload.get("return_line_items")
        for item in items if isinstance(items, list) else []:
            note = item.get("customer_note") if isinstance(item, dict) else None
            if isinstance(note, str):
                yield note, None
    elif topic_key.startswith("reviews/"):
        normalise = platforms.NORMALISERS.get(topic_key.removeprefix("reviews/"))
        body: Any = payload
        if "_raw" in payload:
            try:
                body = platforms.loads_lenient(str(payload["_raw"]).encode())
            except ValueError:
                return
        if normalise is None or not isinstance(body, dict):
            return
        for review in normalise(body):
            yield review_reading(review.title, review.body, review.rating)


def read_ahead(*, topic_key: str, payload: Mapping[str, Any]) -> int:
    """Analyse the texts the handler of `topic_key` will read; how many. Never raises: a body
    it cannot read is the handler's to refuse."""
    read = 0
    try:
        for words, stars in _texts(topic_key, payload):
            text.analyse(words, stars=stars)
            read += 1
    except Exception as error:  # noqa: BLE001 - reading ahead must never fail a delivery
        log.info("read_ahead_skipped", topic=topic_key, error=type(error).__name__)
    return read
