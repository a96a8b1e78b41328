"""The app factory: what one call to `create_app` sets up on disk."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask


@pytest.mark.usefixtures("world_readable_umask")
def test_the_data_directory_and_the_generated_key_are_the_owners_alone(
    make_app: Callable[..., Flask], tmp_path: Path, database_url: str
) -> None:
    # given a data directory that does not exist yet, and umask 022
    data = tmp_path / "new" / "data"

    # when Clout starts on the embedded default (it generates the token key there)
    make_app(CLOUT_DATA_DIR=str(data))

    # then the directory is 0700 and the key 0600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    if database_url.startswith("sqlite"):  # a shared database takes CLOUT_ENCRYPTION_KEY instead
        assert stat.S_IMODE((data / "encryption.key").stat().st_mode) == 0o600


@pytest.mark.usefixtures("world_readable_umask")
def test_a_data_directory_left_open_by_an_earlier_version_is_closed(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)

    make_app(CLOUT_DATA_DIR=str(data))

    assert stat.S_IMODE(data.stat().st_mode) == 0o700
