"""A mail server at the system's edge: just enough SMTP to take messages and keep them."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


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
                    # What the server answers a whole message: `reply` (250 unless a test
                    # says otherwise), or None to drop the connection without a word.
                    reply = self.server.reply  # type: ignore[attr-defined]
                    if reply is None:
                        return
                    if reply.startswith("250"):
                        self.server.messages.append("\n".join(lines))  # type: ignore[attr-defined]
                    lines = []
                    self.wfile.write(reply.encode() + b"\r\n")
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


@contextmanager
def serving_smtp() -> Iterator[Any]:
    """A mail server on a free local port; its `messages` hold what it was sent."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.messages = []  # type: ignore[attr-defined]
    server.reply = "250 queued"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
