"""docker-compose.yml's reverse proxy, run here: the repository's nginx configuration, rendered as
the nginx image renders it, in front of a `clout web` on this machine. For the slow-client test
and `bench/slow_clients.py`; needs Debian's `nginx` (or `nginx-light`)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "clout.conf.template"

# What the nginx image wraps around /etc/nginx/conf.d/*.conf, cut to what a test needs.
MAIN = """
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/clout.conf;
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def render(template: str, values: dict[str, str]) -> str:
    """`${NAME}` replaced as the nginx image's envsubst does (only the names given)."""
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def running_proxy(upstream_port: int, *, access_log: Path | None = None) -> Iterator[int]:
    """nginx with the repository's configuration in front of 127.0.0.1:`upstream_port`; its
    port. Its access log (the container's stdout) goes to `access_log`, or nowhere."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = render(
            TEMPLATE.read_text(),
            {"CLOUT_UPSTREAM": f"127.0.0.1:{upstream_port}", "CLOUT_PROXY_PORT": str(port)},
        )
        # Listen on this machine only (the image listens on every address of its container).
        server = server.replace(f"listen {port} default_server", f"listen 127.0.0.1:{port}")
        server = server.replace(
            "access_log /dev/stdout ", f"access_log {access_log or '/dev/null'} "
        )
        Path(tmp, "clout.conf").write_text(server)
        Path(tmp, "nginx.conf").write_text(MAIN.format(tmp=tmp))
        process = subprocess.Popen(
            [binary, "-p", tmp, "-c", f"{tmp}/nginx.conf"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(port)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()


@contextmanager
def running_web(
    env: dict[str, str], *, workers: int = 2, threads: int = 4, cwd: str | None = None
) -> Iterator[int]:
    """`clout web` (gunicorn, gthread) on this machine; its port."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "service.cli", "web", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", str(workers), "--threads", str(threads)),
        ],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class SlowClient:
    """A client that opens a request and sends its headers one line at a time, as slowly as
    it likes (the "slowloris" pattern)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: clout\r\n")
        self.lines = 0

    def one_more_line(self) -> bool:
        """Send one more header line; False once the server has closed the connection."""
        self.lines += 1
        try:
            self.sock.sendall(f"X-Slow-{self.lines}: {'x' * 8}\r\n".encode())
        except OSError:
            return False
        return True

    def close(self) -> None:
        self.sock.close()
