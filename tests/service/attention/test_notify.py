"""Overdue notifications reach the merchant's channels: a signed webhook and email over SMTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from typing import Any

from werkzeug.serving import make_server

from service.attention.notify import Notifier


def test_an_overdue_case_is_emailed_and_posted_signed(smtp: Any) -> None:
    posted: list[tuple[bytes, str]] = []

    def hook(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        posted.append(
            (
                environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])),
                environ.get("HTTP_X_CLOUT_SIGNATURE", ""),
            )
        )
        start_response("200 OK", [])
        return [b""]

    web = make_server("127.0.0.1", 0, hook)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    notifier = Notifier(
        webhook_url=f"http://127.0.0.1:{web.server_port}/",
        webhook_secret="s3cret",
        smtp_url=f"smtp://127.0.0.1:{smtp.server_address[1]}",
        email_to="support@shop.example",
        email_from="clout@shop.example",
    )

    sent = notifier.notify(
        subject="Overdue: unhappy customer waiting",
        message="Order #1001.",
        data={"incident": 7, "priority": "urgent"},
    )
    web.shutdown()

    assert sent == ["webhook", "email"]
    [(body, signature)] = posted
    assert json.loads(body)["clout"] == {"incident": 7, "priority": "urgent"}
    assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    [mail] = smtp.messages
    assert "Subject: Overdue: unhappy customer waiting" in mail
    assert "To: support@shop.example" in mail
    assert "Order #1001." in mail


def test_a_channel_that_is_down_is_logged_not_raised() -> None:
    notifier = Notifier(
        webhook_url="http://127.0.0.1:9/",
        smtp_url="smtp://127.0.0.1:9",
        email_to="support@shop.example",
        timeout=1,
    )

    assert notifier.notify(subject="s", message="m", data={}) == []
