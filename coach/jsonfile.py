"""Strict JSON (no bare NaN/Infinity) and files written so that no reader sees half of one."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def json_safe(value: Any) -> Any:
    """``value`` with every NaN/Infinity replaced by None (JSON null), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_text(doc: Any, **kwargs: Any) -> str:
    """Strict JSON (RFC 8259): no bare NaN/Infinity, which most parsers reject; non-finite
    numbers become null."""
    return json.dumps(json_safe(doc), allow_nan=False, **kwargs)


def write_json_atomic(path: Path, doc: dict[str, Any]) -> None:
    """Write JSON so that a reader never sees a half-written file (a temporary file beside it,
    synced and renamed into place). An ``OSError`` names ``path`` (never the temporary file),
    and the temporary file is removed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json_text(doc, indent=1, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def check_writable(path: Path) -> str | None:
    """Why ``path`` cannot be written (checked before a session starts), else None: its
    directory must exist and take a new file, and an existing ``path`` must be a writable file."""
    folder = path.resolve().parent
    if not folder.is_dir():
        return f"directory {folder} does not exist"
    if path.is_dir():
        return f"{path} is a directory"
    probe = folder / f".{path.name}.{os.getpid()}.probe"
    try:
        probe.open("x").close()
        probe.unlink()
    except OSError as exc:
        return f"directory {folder}: {exc.strerror or exc}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is not writable"
    return None
