"""The encryption key `clout serve` makes for itself on the embedded default: its web, worker
and beat start together, and each reads the key file, or makes it when there is none. A process
that reads it while another is still writing it must not get half a key (CI saw `clout serve`
stop at start: "CLOUT_ENCRYPTION_KEY must be url-safe base64 of 32 bytes")."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

from service.core.config import load_settings
from service.core.crypto import KEY_FILE, vault_for


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
