"""Every benchmark, one after another, each printing its figures beside its baseline:

    python -m bench            # the sizes BENCHMARKS.md reports (about 25 minutes on 2 cores)
    python -m bench --quick    # smaller sizes, the same figures, a few minutes
    python -m bench --only intake,profiles

Each runs in its own process (as `python bench/NAME.py …` would), so one's memory and threads
do not colour the next one's figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name → (full arguments, quick arguments)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "complaint_detector": ([], []),
    "text_speed": ([], ["--rounds", "2"]),
    "languages": ([], []),
    "text_cost": ([], ["--sizes", "5000,50000"]),
    "review_refusals": ([], ["--rounds", "500"]),
    "tagging_throughput": ([], ["--mutations", "80"]),
    "profiles": ([], ["--sizes", "2000:20000,20000:200000"]),
    "delivery_to_tag": ([], ["--rates", "0.5,1,2", "--seconds", "15"]),
    "intake": ([], ["--seconds", "4", "--rates", "100,500"]),
    "backfill": ([], ["--sizes", "2000:20000,20000:200000"]),
    "slow_clients": ([], ["--slow", "0,8", "--probes", "5"]),
    "storage": ([], ["--deliveries", "800"]),
    "soak": ([], ["--minutes", "1"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, same figures")
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(BENCHES)}")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHES)
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)}")
    failed = []
    for name in chosen:
        full, quick = BENCHES[name]
        command = [sys.executable, str(HERE / f"{name}.py"), *(quick if args.quick else full)]
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        code = subprocess.call(command)
        print(
            f"=== {name}: {'done' if code == 0 else f'FAILED ({code})'} in "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
