"""What Clout writes to stderr: one JSON object a line, whoever logs it, and no customer's
email or Admin API token in any."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator

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
