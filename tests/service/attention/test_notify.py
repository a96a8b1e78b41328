"""Overdue notifications reach the merchant's channels: a signed webhook and email over SMTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from service.attention.notify import Notifier


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of SMTP (RFC 5321) to accept one message: the mail server at the edge."""

    def handle(self) -> None:
        self.wfile.write(b"220 localhost test SMTP\r\n")
        lines: list[str] = []
        in_data = False
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    self.server.messages.append("\n".join(lines))  # type: ignore[attr-defined]
                    lines = []
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self.wfile.write(b"250 localhost\r\n")
            elif verb == "DATA":
                in_data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp() -> Iterator[Any]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


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
