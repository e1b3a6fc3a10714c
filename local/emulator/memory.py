"""Keep the emulator small beside Airflow: DuckDB settings and freed memory back to the OS."""

from __future__ import annotations

import time

# DuckDB would otherwise cache up to 80% of RAM.
MEMORY_LIMIT = "512MB"
# Idle memory: DuckDB keeps every S3 file it read in an external file cache (~100 MB after a
# load of the samples) and holds freed allocations until a task peaks above 128 MB.
DUCKDB_LEAN_SETTINGS = (
    f"memory_limit = '{MEMORY_LIMIT}'",
    "enable_external_file_cache = false",
    "allocator_flush_threshold = '16MB'",
    "allocator_background_threads = true",
)


def apply_lean_settings(duck_conn) -> None:
    for setting in DUCKDB_LEAN_SETTINGS:
        duck_conn.execute(f"SET {setting}")


def return_freed_memory_to_the_os(every_seconds: float = 5.0) -> None:
    """Two heap arenas and a periodic malloc_trim: what a query freed goes back to the OS.

    uvicorn serves requests on a thread pool; glibc would give each thread its own arena and keep
    what every query freed (result sets, Arrow buffers) long after the run: ~40 MB idle.
    """
    import ctypes
    import threading

    libc = ctypes.CDLL("libc.so.6")
    m_arena_max = -8  # mallopt parameter number, from malloc.h
    libc.mallopt(m_arena_max, 2)

    def trim() -> None:
        while True:
            time.sleep(every_seconds)
            libc.malloc_trim(0)

    threading.Thread(target=trim, name="malloc-trim", daemon=True).start()
