"""Regenerate the walk excerpts used by tests/test_stepdetect_accel.py from the Oxford walks.

Run from the project root: ``python tests/data/accel/make_walk_excerpts.py``.

Source: Oxford Step Counter DataSet (Oxford-step-counter/DataSet, commit 922cc0d), licensed
CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); a subset selected and converted:

* ``walk_backpocket_50hz.csv`` / ``walk_backpocket_steps.txt``: 30 s (20-50 s) of
  ``optimisation/data/Pixel_Jamie_Hard_BackPocket_2`` — phone in one back pocket, a lopsided
  signal whose stride used to be taken for the step.
* ``walk_pause_50hz.csv`` / ``walk_pause_steps.txt``: 20 s (120-140 s) of
  ``optimisation/data/Samsung_Dario_Hard_Purse_2`` — phone in a bag, the walker stops for about
  a second ("had to stop for a sec to collect a thing") at 130.5-131.6 s.
* ``walk_end_50hz.csv`` / ``walk_end_steps.txt``: 17 s (135-152 s) of
  ``optimisation/data/Samsung_Carmelo_Hard_NeckPouch_1`` — phone in a neck pouch, the end of the
  walk (last foot contacts at 148.37 and 148.86 s), each of its last steps softer than the one
  before, then the phone still.

Changes: the accelerometer samples are averaged in 20 ms bins (50 Hz, irregular input
resampled) and written as ``time_s,x,y,z`` (m/s², time from the excerpt start); the steps are
the foot-switch 0->1 transitions (``stepcounter.csv``) on the same time axis, one per line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
OXFORD = ROOT.parent / "shared" / "data" / "oxford-step" / "optimisation" / "data"
RATE_HZ = 50.0
EXCERPTS = {
    "walk_backpocket": ("Pixel_Jamie_Hard_BackPocket_2", 20.0, 50.0),
    "walk_pause": ("Samsung_Dario_Hard_Purse_2", 120.0, 140.0),
    "walk_end": ("Samsung_Carmelo_Hard_NeckPouch_1", 135.0, 152.0),
}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from stepdetect.accel_io import read_accel_csv, read_oxford_ground_truth

    for stem, (recording, start_s, end_s) in EXCERPTS.items():
        rec = read_accel_csv(OXFORD / recording / "accelerometer.csv")
        truth_s = read_oxford_ground_truth(OXFORD / recording / "stepcounter.csv", time_origin_ns=rec.time_origin_ns)
        inside = (rec.time_s >= start_s) & (rec.time_s < end_s)
        bins = np.floor((rec.time_s[inside] - start_s) * RATE_HZ).astype(np.int64)
        counts = np.bincount(bins)
        full = counts > 0
        xyz = np.column_stack([np.bincount(bins, weights=rec.xyz[inside, k])[full] / counts[full] for k in range(3)])
        time_s = (np.flatnonzero(full) + 0.5) / RATE_HZ
        lines = ["time_s,x,y,z"] + [f"{t:.3f},{x:.5f},{y:.5f},{z:.5f}" for t, (x, y, z) in zip(time_s, xyz)]
        (HERE / f"{stem}_50hz.csv").write_text("\n".join(lines) + "\n")
        steps = truth_s[(truth_s >= start_s) & (truth_s < end_s)] - start_s
        (HERE / f"{stem}_steps.txt").write_text("".join(f"{s:.4f}\n" for s in steps))


if __name__ == "__main__":
    main()
