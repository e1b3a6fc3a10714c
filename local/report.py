"""What a finished `make run` prints: the load audit and row counts of every configured source and
dbt model, the dbt builds and tests, the delay report, the UI, timings. Tables come from the DAGs'
own config and the dbt manifest: a new source or model is reported without a change here."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

from local.pipeline import RunOutcome
from snowflake_pipeline.config import PipelineConfig, load_config
from snowflake_pipeline.dbt_project import model_tables, read_manifest

DELAYS_MODEL = "delays_by_origin_quarter"  # the dbt model the report shows


@dataclass(frozen=True)
class Layers:
    raw: PipelineConfig
    analytics: dict[str, str]  # dbt model -> its table or view, upstream models first

    @classmethod
    def load(cls) -> Layers:
        return cls(load_config(), model_tables(read_manifest()))

    @property
    def tables(self) -> list[str]:
        """Every raw table and dbt model, fully qualified: raw in config order, then the models
        in build order."""
        raw = [self.raw.table_of(source) for source in self.raw.sources]
        return raw + list(self.analytics.values())


def table_counts(conn, layers: Layers | None = None) -> dict[str, int | None]:
    layers = layers or Layers.load()
    counts: dict[str, int | None] = {}
    with closing(conn.cursor()) as cur:
        for name in layers.tables:
            try:
                # names of the validated config
                counts[name] = cur.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]  # nosec B608
            except Exception:  # noqa: BLE001 - a missing table is reported as such
                counts[name] = None
    return counts


def delay_report(conn, layers: Layers | None = None) -> list[tuple]:
    table = (layers or Layers.load()).analytics[DELAYS_MODEL]
    query = (
        "SELECT origin, year, quarter, avg_dep_delay_minutes, flights "
        f"FROM {table} ORDER BY origin, year, quarter"  # nosec B608 - validated name
    )
    with closing(conn.cursor()) as cur:
        return [tuple(row) for row in cur.execute(query).fetchall()]


def audit_of_run(conn, dag_run_id: str, layers: Layers | None = None) -> list[tuple]:
    """(source, status, files, rows loaded) of one raw run."""
    audit_table = (layers or Layers.load()).raw.audit_table
    with closing(conn.cursor()) as cur:
        cur.execute(
            f"SELECT source, status, COUNT(*), SUM(rows_loaded) FROM {audit_table} "  # nosec B608
            "WHERE dag_run_id = %s GROUP BY source, status ORDER BY source, status",
            (dag_run_id,),
        )
        return [tuple(row) for row in cur.fetchall()]


def failures_of_run(conn, dag_run_id: str, layers: Layers | None = None) -> list[tuple]:
    """(source, file, first error) of each file one raw run could not load."""
    audit_table = (layers or Layers.load()).raw.audit_table
    with closing(conn.cursor()) as cur:
        cur.execute(
            f"SELECT source, file, first_error FROM {audit_table} "  # nosec B608
            "WHERE dag_run_id = %s AND status = 'LOAD_FAILED' ORDER BY source, file",
            (dag_run_id,),
        )
        return [tuple(row) for row in cur.fetchall()]


def columns(rows: list[tuple], aligns: str) -> list[str]:
    """Rows as text columns as wide as their widest cell; `aligns` has '<' or '>' per column."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(aligns))]
    return [
        "  "
        + "  ".join(
            f"{cell!s:{align}{width}}"
            for cell, align, width in zip(row, aligns, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


def print_result(
    conn,
    outcomes: list[RunOutcome],
    api_port: int,
    timings: dict[str, float],
    echo=print,
    alerts: list[dict] | None = None,
) -> None:
    """`alerts`: the failure alerts the runs published (local/alert_inbox.take), if read."""
    layers = Layers.load()
    raw = outcomes[0]
    _print_dag_code(outcomes, echo)
    echo("\n== Load audit of this run")
    audit = {source: [] for source in (s.name for s in layers.raw.sources)}
    for source, status, files, rows in audit_of_run(conn, raw.run_id, layers):
        audit.setdefault(source, []).append((status, files, int(rows or 0)))
    rows = [("source", "status", "files", "rows")]
    for source, results in audit.items():
        for status, files, loaded in results or [("no audit row", "", "")]:
            rows.append((source, status, files, f"{loaded:,}" if loaded != "" else ""))
    for line in columns(rows, "<<>>"):
        echo(line)
    if failures := failures_of_run(conn, raw.run_id, layers):
        echo("\n== Not loaded (fix or remove each file, then `make run` again: only they load)")
        for source, file, error in failures:
            said = " ".join(part.strip() for part in (error or "no error recorded").splitlines())
            echo(f"  {source}: {file or 'a file of its prefix'}\n    {said[:300]}")
    if alerts is not None:
        _print_alerts(alerts, echo)
    echo("\n== Row counts")
    counts = table_counts(conn, layers)
    for line in columns(
        [(name, "missing" if n is None else f"{n:,}") for name, n in counts.items()], "<>"
    ):
        echo(line)
    if len(outcomes) > 1:
        _print_dbt_tasks(outcomes[1].tasks, echo)
    elif raw.state == "success":
        echo("\n== No new rows: snowflake_analytics was not rebuilt (its tables are as last built)")
    if counts[layers.analytics[DELAYS_MODEL]] is None:
        return _footer(api_port, timings, echo)
    echo("\n== Average departure delay (minutes) by origin airport and quarter")
    report = [("origin", "year", "quarter", "avg delay", "flights")]
    report += [
        (origin, year, f"Q{quarter}", f"{float(delay):.2f}", f"{flights:,}")
        for origin, year, quarter, delay, flights in delay_report(conn, layers)
    ]
    for line in columns(report, "<<<>>"):
        echo(line)
    _footer(api_port, timings, echo)


def _print_dbt_tasks(tasks: dict[str, str], echo) -> None:
    """One line per task of the analytics run: `<model>_model_build` builds a model and runs its
    dbt tests; a test reading two models (`*_test`) is a task of its own."""
    done = sum(1 for state in tasks.values() if state == "success")
    echo(f"\n== dbt models and tests (snowflake_analytics): {done}/{len(tasks)} tasks succeeded")
    for task, state in tasks.items():
        mark = {"success": "ok  ", "upstream_failed": "skip", "skipped": "skip"}.get(state, "FAIL")
        echo(f"  {mark} {task}" + ("" if state == "success" else f" ({state})"))


def _print_dag_code(outcomes: list[RunOutcome], echo) -> None:
    """With DAGs from git (a bundle that versions), the commit each run ran."""
    if not any(o.bundle_version for o in outcomes):
        return
    echo("\n== DAG code: the bundle version (git commit) each run ran")
    for outcome in outcomes:
        echo(f"  {outcome.dag_id:<20} {outcome.bundle_version or '(none)'}  {outcome.run_id}")


def _print_alerts(alerts: list[dict], echo) -> None:
    from local.alert_inbox import INBOX_NAME, topic_arn

    where = f"SNS topic {topic_arn()}, kept locally in SQS queue {INBOX_NAME}"
    if not alerts:
        echo(f"\n== Alerts: none sent (no task failed, no run late; they go to the {where})")
        return
    echo(f"\n== Alerts: {len(alerts)} sent to the {where} (on AWS: e-mail)")
    for alert in alerts:
        echo(f"  {alert['subject']}")
        for line in (alert["message"] or "").splitlines():
            echo(f"    {line}")


def _footer(api_port: int, timings: dict[str, float], echo) -> None:
    echo(f"\n== Airflow UI: http://localhost:{api_port}  (local stack: no sign-in, all admins)")
    echo("   `make stop` stops every process `make run` started.")
    echo("\n== Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
