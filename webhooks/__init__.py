"""The intake: verify a sender's signature on the raw bytes, record the delivery, answer fast."""

from __future__ import annotations

from flask import Flask

from service.deliveries.topics import TOPIC_HANDLERS
from webhooks import reviews
from webhooks.shopify import blueprint


def register(app: Flask) -> None:
    """Mount the intake on the app and hand the topic → handler table to the workers."""
    app.register_blueprint(blueprint)
    app.register_blueprint(reviews.blueprint)
    app.extensions["clout"].handlers.update(TOPIC_HANDLERS)
