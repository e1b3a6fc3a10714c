"""COPY loads every file whose key starts with the stage path, sub-folders included, as
Snowflake does (date-partitioned deliveries: `la_riots/2024/05/01/part-0001.csv`).

fakesnow globs one level, which lists a sub-folder as if it were a file and fails reading it.
"""

from __future__ import annotations

from local.emulator.fakesnow_internals import replace
from local.emulator.stage_files import FILESYSTEMS


def install() -> None:
    original = None

    def source_files(source: str, duck_conn) -> list[str]:
        scheme, _, path = source.partition("://")
        fs = FILESYSTEMS.get(scheme)
        if fs is None:
            return original(source, duck_conn)
        folder, _, name_prefix = path.rpartition("/")
        # A key prefix, not a folder: @stage/flights matches flights/... and flights_2024.json.
        keys = fs.find(folder, prefix=name_prefix, withdirs=False)
        return [f"{scheme}://{key}" for key in sorted(keys) if not key.endswith("/")]

    original = replace("fakesnow.copy_into", "_source_glob", "recursive_listing", source_files)
