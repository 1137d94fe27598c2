"""Make ``garmin-fenix-5-run-relative-time.fit`` and ``sample_mulitple_header-relative-time.fit``:
the fenix 5 run and the 920XT triathlon as a device without a set clock writes them — every
date_time is seconds since power-on (FIT values below 0x10000000), not a date.

Run from the project root: ``python tests/data/fit/make_relative_time.py``.

How: fitdecode walks the file (``keep_raw_chunks``: each data message's offset and field
layout); in every data message each 4-byte field whose profile type is ``date_time`` —
``timestamp`` in every message, ``start_time`` of laps and sessions, ``time_created``, ... — is
shifted by the same amount, so that the first session starts about ``START_S`` = 1000 s after
power-on (1025 s and 1005 s here). The shift is a multiple of 32 s, so compressed timestamps
(5-bit offsets from the last full timestamp) stay right. Invalid values (0xFFFFFFFF) are kept;
``local_date_time`` fields (local time, unknown without a clock) become invalid. Then each
chained file's CRC is recomputed (``fitdecode.utils.compute_crc``; the headers are unchanged).
Everything else — cadence, speed, durations — is byte-for-byte the original (MIT, LICENSE.*).
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("garmin-fenix-5-run.fit", "sample_mulitple_header.fit")
START_S = 1000
INVALID_U32 = 0xFFFFFFFF


def relative_time_copy(original: bytes, start_s: int = START_S) -> bytes:
    """``original`` with every date_time shifted so that the first session starts about
    ``start_s`` after power-on, and local times invalid."""
    import fitdecode
    from fitdecode.utils import compute_crc

    data = bytearray(original)
    fields: list[tuple[int, str, str]] = []  # (offset, endian, type name)
    session_starts: list[int] = []
    crc_spans: list[tuple[int, int]] = []
    file_start = 0
    with fitdecode.FitReader(io.BytesIO(original), keep_raw_chunks=True) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitHeader):
                file_start = frame.chunk.offset
            elif isinstance(frame, fitdecode.FitCRC):
                crc_spans.append((file_start, frame.chunk.offset))
            elif isinstance(frame, fitdecode.FitDataMessage):
                offset = frame.chunk.offset + 1  # after the record header byte
                for fd in frame.def_mesg.field_defs:
                    kind = getattr(fd.type, "name", "")
                    if fd.size == 4 and kind in ("date_time", "local_date_time"):
                        fields.append((offset, frame.def_mesg.endian, kind))
                    offset += fd.size
                if frame.name == "session":
                    session_starts.append(frame.get_raw_value("start_time"))
    shift = (min(session_starts) - start_s) // 32 * 32
    for offset, endian, kind in fields:
        (value,) = struct.unpack_from(endian + "I", data, offset)
        if kind == "local_date_time":
            value = INVALID_U32
        elif value != INVALID_U32:
            value -= shift
        struct.pack_into(endian + "I", data, offset, value)
    for start, crc_at in crc_spans:
        struct.pack_into("<H", data, crc_at, compute_crc(data, start=start, end=crc_at))
    return bytes(data)


def target_name(source: str) -> str:
    return source.replace(".fit", "-relative-time.fit")


def main() -> None:
    for source in SOURCES:
        (HERE / target_name(source)).write_bytes(relative_time_copy((HERE / source).read_bytes()))


if __name__ == "__main__":
    main()
