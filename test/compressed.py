"""Compressed test files, written as exporters write them (Python 3.11's stdlib has no zstd)."""

from __future__ import annotations

import pyarrow as pa


def zstd(data: bytes) -> bytes:
    """`data` as one zstd frame: what `zstd file` or an exporter's .zst output holds."""
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()
