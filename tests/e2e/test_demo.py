"""`clout demo` as a new user runs it: one command, every unhappy customer tagged, and with
`--serve` the agents' page left open on the demo store."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.support.agents_page import csrf_of
from tests.support.helpers import wait_for

pytestmark = pytest.mark.slow


def test_clout_demo_tags_every_unhappy_customer_and_opens_the_agents_page(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUT_", "SHOPIFY_"))}
    env["CI"] = "1"  # no browser window from a test
    arguments = ["--port", str(port), "--customers", "120", "--orders", "800", "--unhappy", "10"]
    demo = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "demo", *arguments, "--timeout", "120", "--serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(demo.stdout or []), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("Ctrl-C stops" in line for line in lines), timeout=240, every=0.5)
        report = "".join(lines)

        # the report: every unhappy customer tagged, both scores with their reasons
        assert "Every unhappy customer has the attention tag on their order" in report
        maya = report[report.index("● Maya Ortiz") :].split("●")[1]
        assert "Klout unknown" in maya
        assert "brought 5 new customers through referrals" in maya
        assert "clout-hidden-influencer" in maya
        ivy = report[report.index("● Ivy Star") :].split("●")[1]
        assert "850,000 followers on Instagram" in ivy
        assert "Time from delivery to tag: p50" in report

        # the agents' page is served, and its sign-in works with what the demo printed
        found = re.search(r"agents' page: (\S+)\n\s+sign in as (\S+) with password (\S+)", report)
        assert found, report
        page, email, password = found.groups()
        browser = requests.Session()
        form = browser.get(page, timeout=10)
        assert form.url.endswith("/agents/login")
        signed_in = browser.post(
            form.url,
            data={"email": email, "password": password, "csrf": csrf_of(form.text)},
            timeout=10,
        )
        assert signed_in.url == page
        queue = browser.get(f"{page}/api/queue", timeout=10).json()["incidents"]
        assert len(queue) >= 10
        assert "Maya Ortiz" in [entry["customer"]["name"] for entry in queue]
        # soonest deadline first; a case still being decided (no deadline yet) before all
        deadlines = [entry["deadline_at"] for entry in queue]
        undecided = deadlines.count(None)
        assert all(d is None for d in deadlines[:undecided])
        assert deadlines[undecided:] == sorted(deadlines[undecided:])
    finally:
        demo.send_signal(signal.SIGTERM)  # `kill`: stops as cleanly as Ctrl-C
        code = demo.wait(timeout=90)
        reader.join(timeout=10)
        if demo.stdout is not None:
            demo.stdout.close()
    assert code == 0, "".join(lines)
