"""The encryption key `clout serve` makes for itself on the embedded default: its web, worker
and beat start together, and each reads the key file, or makes it when there is none. A process
that reads it while another is still writing it must not get half a key (CI saw `clout serve`
stop at start: "CLOUT_ENCRYPTION_KEY must be url-safe base64 of 32 bytes")."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from service.core.config import ConfigError, Settings, load_settings
from service.core.crypto import KEY_FILE, generate_key, vault_for


def read_the_key(
    data_dir: str, start: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    settings = load_settings(
        {"CLOUT_DATA_DIR": data_dir, "CLOUT_DATABASE_URL": "sqlite://", "SHOPIFY_API_SECRET": "s"},
        environ={},
        env_file=None,
    )
    start.wait()
    try:
        vault = vault_for(settings)
        out.put(vault.open(vault.seal("shpat_x")))
    except Exception as error:  # noqa: BLE001 - what a starting process would die of
        out.put(f"{type(error).__name__}: {error}")


def test_processes_starting_together_share_one_whole_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_ in range(40):
        # given a new data directory and four processes starting at the same moment
        data_dir = tmp_path / f"run{round_}"
        start, out = context.Barrier(4), context.Queue()
        workers = [
            context.Process(target=read_the_key, args=(str(data_dir), start, out)) for _ in range(4)
        ]

        # when each reads the key, making it if there is none
        for worker in workers:
            worker.start()
        answers = [out.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join(30)

        # then every one could use it, and it is one key, the owner's alone
        assert answers == ["shpat_x"] * 4
        key = data_dir / KEY_FILE
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert len(key.read_text().strip()) == 44
        assert [p.name for p in data_dir.iterdir()] == [KEY_FILE]


def settings_for(data_dir: Path) -> Settings:
    return load_settings(
        {
            "CLOUT_DATA_DIR": str(data_dir),
            "CLOUT_DATABASE_URL": "sqlite://",
            "SHOPIFY_API_SECRET": "s",
        },
        environ={},
        env_file=None,
    )


def test_a_key_being_written_in_place_is_waited_for(tmp_path: Path) -> None:
    # given a key file created and not yet written (as where the data directory holds no hard
    # links, and a process making the key writes it in place)
    key = tmp_path / KEY_FILE
    key.touch(mode=0o600)
    writer = threading.Timer(0.5, lambda: key.write_text(generate_key() + "\n"))

    # when another process starts meanwhile
    writer.start()
    try:
        vault = vault_for(settings_for(tmp_path))
    finally:
        writer.join()

    # then it waited for the key, and uses it
    assert vault.open(vault.seal("shpat_x")) == "shpat_x"


def test_an_empty_key_file_says_which_file_and_what_to_do(tmp_path: Path) -> None:
    # given an empty key file, left by a first start that was cut short
    (tmp_path / KEY_FILE).touch(mode=0o600)

    # when Clout starts, then it names the file and the way out, not a variable never set
    with pytest.raises(ConfigError) as refused:
        vault_for(settings_for(tmp_path))
    assert str(tmp_path / KEY_FILE) in str(refused.value)
    assert "empty" in str(refused.value)
    assert "delete it and start again" in str(refused.value)


def test_a_first_start_cut_short_leaves_no_copy_of_a_key_behind(tmp_path: Path) -> None:
    # given what a first start killed while writing the key leaves: its key's temporary copy,
    # a minute old, and another process's copy being written this moment
    stale = tmp_path / f".{KEY_FILE}.k2j4x9ab"
    stale.write_text(generate_key() + "\n")
    os.utime(stale, (time.time() - 120, time.time() - 120))
    fresh = tmp_path / f".{KEY_FILE}.p8q1z3cd"
    backup = tmp_path / f".{KEY_FILE}.bak"  # an operator's own copy, as old as the stale one
    backup.write_text(generate_key() + "\n")
    os.utime(backup, (time.time() - 120, time.time() - 120))
    fresh.write_text(generate_key() + "\n")

    # when Clout starts
    vault = vault_for(settings_for(tmp_path))

    # then the stale copy of a key is gone (one copy of a secret, not two); the one being
    # written is another start's to finish
    assert vault.open(vault.seal("shpat_x")) == "shpat_x"
    assert not stale.exists()
    assert fresh.exists()
    assert backup.exists()
    assert (tmp_path / KEY_FILE).exists()
