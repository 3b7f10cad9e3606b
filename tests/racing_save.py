"""One of two processes saving a model under one name at once, as two replicas of the app would.

Run as `python tests/racing_save.py STORE KERAS_FILE VALUE MEETING`: saves the version of
crashing_save.NAME whose every number is VALUE into STORE, without overwrite. Each process stops when
its copy is written and hidden (past the name check, before the rename that publishes it) until both
have got there: it leaves a file in the folder MEETING and waits for the other's. Prints "saved" and
exits 0, or prints "refused: WHY" and exits 3.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mnist_mlp import store
from tests import crashing_save

WAIT_SECONDS = 60  # for the other process to get there: both start Python and NumPy on a loaded machine
RACERS = 2


def meet(meeting: Path, value: str) -> None:
    """Leave word in `meeting` and wait until the other racer has too."""
    (meeting / value).touch()
    deadline = time.monotonic() + WAIT_SECONDS
    while len(list(meeting.iterdir())) < RACERS:
        if time.monotonic() > deadline:
            sys.exit(f"the other process did not reach the rename within {WAIT_SECONDS} s")
        time.sleep(0.01)


def main(folder: str, keras_file: str, value: str, meeting: str) -> None:
    def reached(step: str) -> None:
        if step == "card written":
            meet(Path(meeting), value)

    store._reached = reached
    try:
        store.save(**crashing_save.version(float(value), Path(keras_file)), store=folder)
    except store.StoreError as err:
        print(f"refused: {err}")
        sys.exit(3)
    print("saved")


if __name__ == "__main__":
    main(*sys.argv[1:])
