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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.agents_page import csrf_of
from tests.support.helpers import wait_for

pytestmark = pytest.mark.slow


def test_clout_demo_tags_every_unhappy_customer_and_opens_the_agents_page(tmp_path: Path) -> None:
    arguments = ["--customers", "120", "--orders", "800", "--unhappy", "10", "--serve"]
    with running_demo(tmp_path, *arguments) as demo:
        lines = demo.lines
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
        answer = browser.get(f"{page}/api/queue", timeout=10).json()
        queue = answer["incidents"]
        assert len(queue) >= 10
        # the report was taken once the day had settled: every case the page shows is in it,
        # and no order is caught between two priorities
        reported = int(re.search(r"\n(\d+) unhappy customers, all with", report)[1])  # type: ignore[index]
        assert reported == answer["counts"]["open"], report
        orders = re.findall(r"order \S+: (.*)", report)
        assert orders
        assert all(o.count("clout-priority-") <= 1 for o in orders), report
        assert "Maya Ortiz" in [entry["customer"]["name"] for entry in queue]
        # soonest deadline first; a case still being decided (no deadline yet) before all
        deadlines = [entry["deadline_at"] for entry in queue]
        undecided = deadlines.count(None)
        assert all(d is None for d in deadlines[:undecided])
        assert deadlines[undecided:] == sorted(deadlines[undecided:])
    # `kill` (on leaving `running_demo`) stops it as cleanly as Ctrl-C
    assert demo.code == 0, "".join(lines)
    # and nothing is left behind: no process of the demo's, no working folder
    assert left_behind(tmp_path) == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_clout_demo_killed_mid_day_stops_everything_it_started(tmp_path: Path) -> None:
    # given the demo replaying its day
    arguments = ["--customers", "60", "--orders", "300", "--unhappy", "10"]
    with running_demo(tmp_path, *arguments) as demo:
        wait_for(lambda: any("replaying a day" in line for line in demo.lines), timeout=240)
        # when it is killed (`kill`, not Ctrl-C, on leaving) before the day is told

    # then it stops, and takes with it the web, the worker, the beat, its Redis and its folder
    assert demo.code == 130, "".join(demo.lines)
    wait_for(lambda: left_behind(tmp_path) == [], timeout=20)
    assert list((tmp_path / "tmp").iterdir()) == []


@dataclass
class Demo:
    lines: list[str]  # what it printed so far
    code: int | None = None  # its exit code, once stopped


@contextmanager
def running_demo(tmp_path: Path, *arguments: str) -> Iterator[Demo]:
    """`clout demo` on a free port, in `tmp_path`; stopped with SIGTERM (`kill`) on leaving."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "service.cli", "demo", "--port", str(port), "--timeout", "120"]
    process = subprocess.Popen(
        [*command, *arguments],
        cwd=tmp_path,
        env=demo_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    demo = Demo(lines=[])
    reader = threading.Thread(target=lambda: demo.lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        yield demo
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            demo.code = process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            # Not stopped in time: killed, so the test's own failure (or the exit code the
            # test asserts) is what is reported, not this wait.
            process.kill()
            demo.code = process.wait(timeout=30)
            demo.lines.append("\n[the demo did not stop within 90 s of SIGTERM: killed]\n")
        reader.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUT_", "SHOPIFY_"))}
    env["CI"] = "1"  # no browser window from a test
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp_path / "tmp")  # where the demo makes its working folder
    return env


def left_behind(tmp_path: Path) -> list[str]:
    """Processes still running with this test's folder in their command line or environment:
    the demo's children and its Redis."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if str(tmp_path).encode() in seen:
            found.append(
                (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
    return found
