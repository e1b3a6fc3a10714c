"""What a finished `make run` prints: row counts, checks, the delay report, the UI, timings."""

from __future__ import annotations

from contextlib import closing

from local.pipeline import RunOutcome

RAW_TABLES = ("flights", "weather", "airports", "airlines", "planes")
ANALYTICS_TABLES = ("flights", "dim_date", "flights_enriched", "delays_by_origin_quarter")
REPORT_SQL = """
SELECT origin, year, quarter, avg_dep_delay_minutes, flights
FROM analytics.nycflights.delays_by_origin_quarter
ORDER BY origin, year, quarter
"""


def table_counts(conn) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    with closing(conn.cursor()) as cur:
        for schema, tables in (("raw", RAW_TABLES), ("analytics", ANALYTICS_TABLES)):
            for table in tables:
                name = f"{schema}.nycflights.{table}"  # constants of this module
                try:
                    query = f"SELECT COUNT(*) FROM {name}"  # nosec B608
                    counts[name] = cur.execute(query).fetchone()[0]
                except Exception:  # noqa: BLE001 - a missing table is reported as such
                    counts[name] = None
    return counts


def delay_report(conn) -> list[tuple]:
    with closing(conn.cursor()) as cur:
        return [tuple(row) for row in cur.execute(REPORT_SQL).fetchall()]


def audit_of_run(conn, dag_run_id: str) -> list[tuple]:
    with closing(conn.cursor()) as cur:
        cur.execute(
            "SELECT source, status, COUNT(*), SUM(rows_loaded) FROM raw.ops.load_audit "
            "WHERE dag_run_id = %s GROUP BY source, status ORDER BY source, status",
            (dag_run_id,),
        )
        return [tuple(row) for row in cur.fetchall()]


def print_result(
    conn, outcomes: list[RunOutcome], api_port: int, timings: dict[str, float], echo=print
) -> None:
    raw = outcomes[0]
    echo("\n== Load audit of this run (source, status, files, rows)")
    for source, status, files, rows in audit_of_run(conn, raw.run_id):
        echo(f"  {source:<10} {status:<13} {files:>3} file(s) {int(rows or 0):>9,} rows")
    echo("\n== Row counts")
    for name, count in table_counts(conn).items():
        echo(f"  {name:<44} {'missing' if count is None else f'{count:>9,}'}")
    if len(outcomes) > 1:
        checks = {t: s for t, s in outcomes[1].tasks.items() if t.startswith("check_")}
        passed = sum(1 for s in checks.values() if s == "success")
        echo(f"\n== Data quality checks: {passed}/{len(checks)} passed")
        for task, state in sorted(checks.items()):
            echo(f"  {'ok  ' if state == 'success' else 'FAIL'} {task}")
        echo("\n== Average departure delay (minutes) by origin airport and quarter")
        echo(f"  {'origin':<7}{'year':<6}{'quarter':<9}{'avg delay':>10}{'flights':>9}")
        for origin, year, quarter, delay, flights in delay_report(conn):
            echo(f"  {origin:<7}{year:<6}Q{quarter:<8}{float(delay):>10.2f}{flights:>9,}")
    echo(f"\n== Airflow UI: http://localhost:{api_port}  (local stack: no sign-in, all admins)")
    echo("   `make stop` stops every process `make run` started.")
    echo("\n== Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
