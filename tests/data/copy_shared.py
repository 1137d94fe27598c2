"""Copy the small excerpts of the shared real data that the tests need into tests/data/.

Run from the project root, with the shared data beside the clone (``../shared/data``)::

    python tests/data/copy_shared.py

The tests read only these copies (never ``../shared``); the full shared set stays for the
benchmarks. What is copied, and how it is cut, is described in ``tests/data/README.md``:

* ``fit/``: three Garmin FIT files and both licences, whole and unmodified (the tests check the
  reference cadences of the data README, which need the whole files).
* ``soundtrackdb/``: all eight per-step files, every row, but only the columns the tests and
  ``samples/generate.py`` read (``YOLO_Foot``, ``YOLO_Start_Time``, ``YOLO_Cadence``), cell text
  unmodified; plus the MIT ``LICENSE``.

The Oxford walk excerpts in ``accel/`` have their own scripts there (``make_fixtures.py``,
``make_walk_excerpts.py``).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1].parent / "shared" / "data"

FIT_FILES = [
    "activity-small-fenix2-run.fit", "garmin-fenix-5-run.fit", "sample_mulitple_header.fit",
    "LICENSE.fitdecode", "LICENSE.python-fitparse",
]
SOUNDTRACK_SESSIONS = [
    "d57_P35_5_1", "d57_P35_6_0", "d17_P09_6_0", "d55_P11_7_0",
    "d04_P47_8_0", "d04_P47_9_0", "d17_P16_9_0", "d17_P15_10_0",
]
SOUNDTRACK_COLUMNS = ["YOLO_Foot", "YOLO_Start_Time", "YOLO_Cadence"]


def copy_fit() -> None:
    out = HERE / "fit"
    out.mkdir(exist_ok=True)
    for name in FIT_FILES:
        shutil.copyfile(SHARED / "fit" / name, out / name)


def copy_soundtrackdb() -> None:
    out = HERE / "soundtrackdb"
    out.mkdir(exist_ok=True)
    shutil.copyfile(SHARED / "soundtrackdb" / "LICENSE", out / "LICENSE")
    for session in SOUNDTRACK_SESSIONS:
        with (SHARED / "soundtrackdb" / f"{session}.csv").open(newline="") as src:
            rows = list(csv.DictReader(src))
        with (out / f"{session}.csv").open("w", newline="") as dst:
            writer = csv.DictWriter(dst, SOUNDTRACK_COLUMNS, lineterminator="\n", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


def main() -> None:
    copy_fit()
    copy_soundtrackdb()


if __name__ == "__main__":
    main()
