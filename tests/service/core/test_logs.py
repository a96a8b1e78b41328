"""What Clout writes to stderr: one JSON object a line, whoever logs it, and no customer's
email or Admin API token in any."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gunicorn.config import Config

from service.core.gunicorn_logs import GunicornToClout
from service.core.logs import configure_logging, get_logger


@pytest.fixture
def json_logs() -> Iterator[None]:
    configure_logging("INFO")
    yield
    configure_logging("WARNING")  # what the CLI sets; the next test's app sets its own


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_a_librarys_log_line_is_json_and_scrubbed_like_clouts_own(
    json_logs: None, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()

    # when Clout, Celery and Alembic log, and a library warns
    get_logger("clout.test").info("delivery_processed", delivery_id=7)
    logging.getLogger("celery.worker.strategy").info("Task clout.work[abc] received")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade 0014 -> 0015")
    logging.getLogger("celery.app.trace").error(
        "Task failed: customer jane.doe@example.org, token shpat_0123456789abcdef"
    )

    # then every line is a JSON object with its level, and no email or token is in any
    err = capfd.readouterr().err
    written = lines(err)
    assert [line["event"] for line in written[:3]] == [
        "delivery_processed",
        "Task clout.work[abc] received",
        "Running upgrade 0014 -> 0015",
    ]
    assert written[1]["level"] == "info"
    assert written[1]["logger"] == "celery.worker.strategy"
    assert written[3]["level"] == "error"
    assert "jane.doe@example.org" not in err
    assert "shpat_0123456789abcdef" not in err


def test_a_librarys_warning_is_a_json_line_too() -> None:
    # given a process as Clout's commands start (pytest keeps warnings to itself, so apart)
    program = (
        "import warnings\n"
        "from service.core.logs import configure_logging\n"
        "configure_logging('INFO')\n"
        "warnings.warn('running the worker as root is not recommended', UserWarning)\n"
    )

    # when a library warns
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )

    # then what reaches stderr is one JSON line naming it a warning
    [line] = lines(done.stderr)
    assert line["level"] == "warning"
    assert line["logger"] == "py.warnings"
    assert "running the worker as root" in str(line["event"])


def test_a_library_below_the_level_stays_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING")
    capfd.readouterr()

    logging.getLogger("celery.worker.strategy").info("Task clout.work[abc] received")
    logging.getLogger("celery.worker").warning("Restoring 2 unacknowledged message(s)")

    assert [line["event"] for line in lines(capfd.readouterr().err)] == [
        "Restoring 2 unacknowledged message(s)"
    ]


def test_gunicorns_own_lines_are_json_too(
    json_logs: None, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    logger = GunicornToClout(Config())

    logger.info("Booting worker with pid: %s", 4242)
    logger.critical("WORKER TIMEOUT (pid:%s)", 4242)

    written = lines(capfd.readouterr().err)
    assert [(line["event"], line["level"]) for line in written] == [
        ("Booting worker with pid: 4242", "info"),
        ("WORKER TIMEOUT (pid:4242)", "critical"),
    ]
    assert written[0]["logger"] == "gunicorn.error"


def test_celerys_own_loggers_write_json_lines_too(tmp_path: Path) -> None:
    # given a worker's process: Clout's app, then Celery's logging set up as its worker does
    program = (
        "import logging\n"
        "from celery.utils.log import get_multiprocessing_logger, get_task_logger\n"
        "from service.app import create_app\n"
        "app = create_app({'SHOPIFY_API_SECRET': 's' * 32, 'CLOUT_LOG_LEVEL': 'INFO',\n"
        f"    'CLOUT_DATABASE_URL': 'sqlite:///{tmp_path}/c.db',\n"
        f"    'CLOUT_DATA_DIR': '{tmp_path}/data', 'CLOUT_REDIS_URL': 'redis://127.0.0.1:9/0'}})\n"
        "app.extensions['celery'].log.setup(loglevel='INFO')\n"
        "get_multiprocessing_logger().error('Process 7 exited, jane.doe@example.org')\n"
        "get_task_logger('clout.work').warning('task line for jane.doe@example.org')\n"
    )

    # when Celery's pool and a task log
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    )

    # then each is a JSON line, scrubbed
    events = [str(line["event"]) for line in lines(done.stderr)]
    assert any("Process 7 exited" in e for e in events), done.stderr
    assert any("task line for" in e for e in events), done.stderr
    assert "jane.doe@example.org" not in done.stderr


def test_an_email_inside_a_value_or_in_any_script_is_masked(
    json_logs: None, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()

    get_logger("clout.test").warning(
        "odd_values",
        data={"customer": {"email": "jane.doe@example.org"}},
        seen=["shpat_0123456789abcdef"],
        error=ValueError("no such customer jöhn@exämple.com"),
        count=3,
    )

    err = capfd.readouterr().err
    [line] = lines(err)
    assert line["data"] == {"customer": {"email": "[email]"}}
    assert line["seen"] == ["shpat_[redacted]"]
    assert line["error"] == "no such customer [email]"
    assert line["count"] == 3
