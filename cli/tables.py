"""Shared bits of the history commands' tables (``history``, ``baseline``): a wide console and
figures that may be missing."""

from __future__ import annotations

import math
import shutil
import sys
from typing import Any


def wide_console() -> Any:
    """A rich console on stdout at least 140 columns wide (tables are not wrapped)."""
    from rich.console import Console

    width = max(shutil.get_terminal_size((140, 24)).columns, 140)
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False)


def fmt(value: Any, spec: str = ".1f", none: str = "-") -> str:
    """``value`` formatted with ``spec``; ``none`` for a missing (None or NaN) figure."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return none
    return format(value, spec)
