"""CREATE TABLE IF NOT EXISTS of an existing table keeps its load history, as in Snowflake.

fakesnow 0.12.1 clears a table's load history on every CREATE TABLE, even when IF NOT EXISTS
keeps the table, so the next COPY would load every file again.
"""

from __future__ import annotations

import re

from local.emulator.fakesnow_internals import internal

_CREATE_IF_NOT_EXISTS = re.compile(
    r"^\s*create\s+table\s+if\s+not\s+exists\s+(\w+)\.(\w+)\.(\w+)\b", re.IGNORECASE
)


def install() -> None:
    cursor = internal("fakesnow.cursor", "FakeSnowflakeCursor", "load_history")
    original = cursor.execute

    def execute(self, command, *args, **kwargs):
        match = _CREATE_IF_NOT_EXISTS.match(command) if isinstance(command, str) else None
        if match:
            database, schema, table = (part.upper() for part in match.groups())
            exists = self._duck_conn.execute(
                "SELECT 1 FROM information_schema.tables "
                "WHERE upper(table_catalog) = ? AND upper(table_schema) = ? "
                "AND upper(table_name) = ?",
                [database, schema, table],
            ).fetchone()
            if exists:
                command = f"SELECT '{table} already exists, statement succeeded.' AS status"
        return original(self, command, *args, **kwargs)

    cursor.execute = execute
