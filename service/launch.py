"""`clout`, the command: a Ctrl-C while Python is still loading Clout (a second or more) ends it
as an interrupted command does, with exit code 130, not a screen of traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        # Imported here, inside the try: loading it is what takes the time.
        from service.cli import main as clout  # noqa: PLC0415
    except KeyboardInterrupt:
        sys.exit(130)
    clout()
