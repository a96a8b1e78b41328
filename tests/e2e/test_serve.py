"""`clout serve` as a new user runs it: one command, embedded Redis and SQLite, Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.clout import RunningDevStore
from tests.support.helpers import SECRET, SHOP, fixture_bytes, shopify_headers, wait_for

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def owner_only(directory: Path) -> list[str]:
    """What under `directory` (itself included) others could read: none should be."""
    found = [directory, *directory.rglob("*")]
    return [f"{p} {mode(p):o}" for p in found if mode(p) != (0o700 if p.is_dir() else 0o600)]


def clout(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_clout_serve_takes_a_signed_delivery_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, devstore: RunningDevStore
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUT_", "SHOPIFY_"))}
    env["SHOPIFY_API_SECRET"] = SECRET
    env["CLOUT_SHOPIFY_ADMIN_URL"] = devstore.url
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        umask=0o022,  # what most shells start with: files readable by everyone
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return requests.get(f"{base}/readyz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(ready, timeout=60, every=0.25)
        family = psutil.Process(server.pid).children(recursive=True)
        assert len(family) >= 3  # web, worker, beat (and their own children)
        assert (tmp_path / "clout.db").exists()

        clout("shops", "add", SHOP, "--token", devstore.token, cwd=tmp_path, env=env)
        body = fixture_bytes("shopify/orders_create.json")
        answer = requests.post(
            f"{base}/webhooks/shopify",
            data=body,
            headers=shopify_headers("orders/create", body),
            timeout=5,
        )
        assert answer.status_code == 200
        forged = requests.post(
            f"{base}/webhooks/shopify",
            data=body,
            headers=shopify_headers("orders/create", body, secret="forged"),
            timeout=5,
        )
        assert forged.status_code == 401

        wait_for(
            # "done", or "done, tag pending in Shopify": the emulator knows no such order
            lambda: "\tdone" in clout("deliveries", "list", cwd=tmp_path, env=env),
            timeout=30,
            every=0.5,
        )
        # what it keeps — customers, tokens, the queue — is the owner's alone
        assert owner_only(tmp_path / ".clout") == []
        for database_file in ("clout.db", "clout.db-wal", "clout.db-shm"):
            assert mode(tmp_path / database_file) == 0o600, database_file
        assert (tmp_path / ".clout" / "appendonly.aof").exists()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.stdout is not None
    with server.stdout:
        output = server.stdout.read().decode()
    assert server.returncode == 0, output
    time.sleep(0.5)
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], output
