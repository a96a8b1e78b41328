"""The intake: verify a sender's signature on the raw bytes, record the delivery, answer fast."""

from __future__ import annotations

from flask import Flask

from webhooks import flow_actions, reviews
from webhooks.shopify import blueprint


def register(app: Flask) -> None:
    """Mount the intake on the app."""
    app.register_blueprint(blueprint)
    app.register_blueprint(reviews.blueprint)
    app.register_blueprint(flow_actions.blueprint)
