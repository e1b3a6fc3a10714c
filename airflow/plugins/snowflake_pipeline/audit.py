"""The load audit table: one row per file per COPY, plus one row per failed COPY."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass
from datetime import UTC, datetime

AUDIT_COLUMNS = (
    "dag_run_id",
    "source",
    "file",
    "status",
    "rows_parsed",
    "rows_loaded",
    "errors_seen",
    "first_error",
    "loaded_at",
)


@dataclass(frozen=True)
class AuditRow:
    dag_run_id: str
    source: str
    file: str | None
    status: str
    rows_parsed: int
    rows_loaded: int
    errors_seen: int
    first_error: str | None
    loaded_at: datetime


def render_insert(audit_table: str) -> str:
    placeholders = ", ".join(["%s"] * len(AUDIT_COLUMNS))
    # audit_table passed config.py's identifier checks; values are bound parameters.
    columns = ", ".join(AUDIT_COLUMNS)
    return f"INSERT INTO {audit_table} ({columns}) VALUES ({placeholders})"  # nosec B608


def rows_from_copy_result(
    dag_run_id: str, source: str, result: Iterable[Mapping], now: datetime | None = None
) -> list[AuditRow]:
    """Turn COPY INTO result rows into audit rows.

    When no file is new, Snowflake answers with a single row that has only a status
    ("Copy executed with 0 files processed."); that yields no audit row.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for row in result:
        row = {k.lower(): v for k, v in row.items()}
        if not row.get("file"):
            continue
        rows.append(
            AuditRow(
                dag_run_id=dag_run_id,
                source=source,
                file=row["file"],
                status=str(row["status"]),
                rows_parsed=int(row.get("rows_parsed") or 0),
                rows_loaded=int(row.get("rows_loaded") or 0),
                errors_seen=int(row.get("errors_seen") or 0),
                first_error=_first_error(row),
                loaded_at=now,
            )
        )
    return rows


def _first_error(row: Mapping) -> str | None:
    """A skipped file's first error with its line (Snowflake reports the line apart)."""
    error, line = row.get("first_error"), row.get("first_error_line")
    if error and line:
        return f"{error} (line {line})"
    return error


def failure_row(
    dag_run_id: str, source: str, error: str, file: str | None, now: datetime | None = None
) -> AuditRow:
    return AuditRow(
        dag_run_id=dag_run_id,
        source=source,
        file=file,
        status="LOAD_FAILED",
        rows_parsed=0,
        rows_loaded=0,
        errors_seen=1,
        first_error=error[:4000],
        loaded_at=now or datetime.now(UTC).replace(tzinfo=None),
    )


def as_params(rows: Iterable[AuditRow]) -> list[tuple]:
    return [astuple(r) for r in rows]
