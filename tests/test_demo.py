"""`clout demo` as a new user runs it: one command, exit 0 when every unhappy customer is tagged."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_clout_demo_tags_every_unhappy_customer_and_shows_both_scores(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUT_", "SHOPIFY_"))}

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "demo",
            "--port",
            str(port),
            "--customers",
            "120",
            "--orders",
            "800",
            "--unhappy",
            "10",
            "--timeout",
            "120",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    report = done.stdout
    assert "Every unhappy customer has the attention tag on their order" in report
    maya = report[report.index("● Maya Ortiz") :].split("●")[1]
    assert "Klout unknown" in maya
    assert "brought 5 new customers through referrals" in maya
    assert "clout-hidden-influencer" in maya
    ivy = report[report.index("● Ivy Star") :].split("●")[1]
    assert "850,000 followers on Instagram" in ivy
    assert "Time from delivery to tag: p50" in report
