"""The beat scheduler stops quietly whenever it is stopped, even while it opens its schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
BEAT = """
import json, sys
from service.app import create_app
celery = create_app(json.loads(sys.argv[1])).extensions["celery"]
celery.start(["beat", "--loglevel=INFO", "--schedule=" + sys.argv[2], *sys.argv[3:]])
"""


def run_beat(
    settings: dict[str, Any], schedule: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BEAT, json.dumps(settings), str(schedule), *options],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # the test's scheduler is in `tests`
    )


def test_beat_stopped_while_it_opens_its_schedule_exits_without_a_traceback(
    settings: dict[str, Any], tmp_path: Path
) -> None:
    # given beat starting, and the operator's stop arriving while it opens its schedule file
    schedule = tmp_path / "beat-schedule"

    # when it runs
    done = run_beat(settings, schedule, "--scheduler=tests.support.beat:StoppedWhileOpening")

    # then it stops as asked: no traceback, no schedule thrown away as "corrupted"
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "corrupted" not in done.stderr, done.stderr
    assert '"level": "error"' not in done.stderr, done.stderr
