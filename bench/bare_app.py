"""The baseline for the intake benchmark: a Flask endpoint that only answers 200."""

from flask import Flask


def create() -> Flask:
    app = Flask("bare")

    @app.post("/webhooks/shopify")
    def accept() -> tuple[str, int]:
        return '{"outcome": "accepted"}', 200

    return app
