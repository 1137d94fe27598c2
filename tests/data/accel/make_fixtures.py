"""Regenerate the small accelerometer CSV fixtures in this folder from one Oxford recording.

Run from the project root: ``python tests/data/accel/make_fixtures.py``. Source: the first
5 s of ``../shared/data/oxford-step/optimisation/data/Samsung_Jamie_Hard_InHand_1/
accelerometer.csv`` (Oxford Step Counter DataSet, commit 922cc0d, CC BY 4.0; excerpt converted
to other layouts). Every fixture holds the same samples, so tests can compare them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = (
    HERE.parents[2].parent / "shared" / "data" / "oxford-step" / "optimisation" / "data"
    / "Samsung_Jamie_Hard_InHand_1" / "accelerometer.csv"
)
EXCERPT_S = 5.0
G_M_S2 = 9.80665


def main() -> None:
    lines = SOURCE.read_text().splitlines()
    t_ns = np.array([int(ln.split(",")[0]) for ln in lines], dtype=np.int64)
    n = int(np.searchsorted(t_ns - t_ns[0], int(EXCERPT_S * 1e9)))
    (HERE / "oxford_excerpt.csv").write_text("\n".join(lines[:n]) + "\n")
    rows = np.array([[float(v) for v in ln.split(",")[2:]] for ln in lines[:n]])
    time_s = (t_ns[:n] - t_ns[0]) * 1e-9

    def phyphox(name: str, sep: str, axis_label: str, xyz: np.ndarray, decimal_comma: bool) -> None:
        head = ["Time (s)", *(f"{axis_label} {a} (m/s^2)" for a in "xyz"), "Absolute acceleration (m/s^2)"]
        out = [sep.join(f'"{h}"' for h in head)]
        for t, (x, y, z), ab in zip(time_s, xyz, np.linalg.norm(xyz, axis=1)):
            cells = [f"{v:.9E}" for v in (t, x, y, z, ab)]
            if decimal_comma:
                cells = [c.replace(".", ",") for c in cells]
            out.append(sep.join(cells))
        (HERE / name).write_text("\n".join(out) + "\n")

    phyphox("phyphox_with_g_comma.csv", ",", "Acceleration", rows, False)
    phyphox("phyphox_with_g_tab.csv", "\t", "Acceleration", rows, False)
    # "Linear Acceleration": gravity removed (here: the excerpt's mean vector)
    phyphox("phyphox_linear_semicolon.csv", ";", "Linear Acceleration", rows - rows.mean(axis=0), True)

    out = ["timestamp_ms,acc_x (g),acc_y (g),acc_z (g)"]
    out += [f"{t * 1e3:.3f},{x / G_M_S2:.7f},{y / G_M_S2:.7f},{z / G_M_S2:.7f}" for t, (x, y, z) in zip(time_s, rows)]
    (HERE / "generic_ms_g.csv").write_text("\n".join(out) + "\n")

    out = ["time,x,y,z"]  # no unit: ns inferred from the median time step
    out += [f"{t},{float(x)!r},{float(y)!r},{float(z)!r}" for t, (x, y, z) in zip(t_ns[:n], rows)]
    (HERE / "generic_unitless_ns.csv").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
