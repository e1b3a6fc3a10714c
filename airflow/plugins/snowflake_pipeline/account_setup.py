"""Apply the account setup in sql/ (and the raw tables of sources.yml) through the connector.

The same code serves `make snowflake-setup` against a real account, the local stack and the
compose and rehearsal containers: the connection is the config's `connection_id`, read through
Airflow's hook exactly as the DAGs read it. Every statement is idempotent (IF NOT EXISTS), so
re-applying is safe.

The databases, schemas, stage and audit table that sql/*.sql creates and grants on are named by
the config (sources.yml, analytics.yml), never in the SQL: `config_variables` derives them.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from snowflake_pipeline.config import DAGS_DIR, PipelineConfig, load_config, sources_file
from snowflake_pipeline.dbt_project import analytics_file, analytics_schema

# sql/ sits beside airflow/ in the repository and beside dags/ in the image (/opt/airflow/sql).
SQL_DIR = next(
    (d for d in (DAGS_DIR.parent.parent / "sql", DAGS_DIR.parent / "sql") if d.is_dir()),
    DAGS_DIR.parent / "sql",
)
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
# Variables of sql/*.sql set from the environment, and the environment variables that set them;
# the others come from the config (`config_variables`).
VARIABLES = {
    "stage_url": "SNOWFLAKE_STAGE_URL",
    "storage_role_arn": "SNOWFLAKE_STORAGE_ROLE_ARN",
}


class SetupError(RuntimeError):
    pass


def variables_from_env(env: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if env is None else env)
    return {name: env[var] for name, var in VARIABLES.items() if env.get(var)}


def config_variables(config: PipelineConfig, dags_dir: str | Path = DAGS_DIR) -> dict[str, str]:
    """The names sql/*.sql creates and grants on, from sources.yml (`config`) and analytics.yml.

    `<x>_schema` and `<x>_database` are the schema and database holding `<x>`; the stage and the
    audit table may live in different schemas (each is then created and granted on).
    """
    analytics = analytics_schema(dags_dir)

    def database(name: str) -> str:
        return name.split(".")[0]

    def schema(name: str) -> str:
        return name.rsplit(".", 1)[0]

    return {
        "stage": config.stage,
        "stage_schema": schema(config.stage),
        "stage_database": database(config.stage),
        "audit_table": config.audit_table,
        "audit_schema": schema(config.audit_table),
        "audit_database": database(config.audit_table),
        "raw_schema": config.raw_schema,
        "raw_database": database(config.raw_schema),
        "analytics_schema": analytics,
        "analytics_database": database(analytics),
    }


def render(text: str, variables: dict[str, str], where: str) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name in variables:
            return variables[name]
        if name in VARIABLES:
            raise SetupError(f"{where}: {{{{ {name} }}}} is not set; export {VARIABLES[name]}")
        known = ", ".join(sorted({*VARIABLES, *variables}))
        raise SetupError(f"{where}: {{{{ {name} }}}} is not a variable; use one of: {known}")

    return PLACEHOLDER.sub(substitute, text)


def statements(
    variables: dict[str, str],
    sql_dir: Path = SQL_DIR,
    config: PipelineConfig | None = None,
    dags_dir: str | Path = DAGS_DIR,
) -> Iterator[tuple[str, str]]:
    """Yield (file name, statement) for every statement of sql/*.sql, in file order.

    `variables` (from the environment) and the config's names (`config_variables`, which win)
    fill the placeholders. A statement rendered twice, such as the schema of both the stage and
    the audit table, is yielded once.
    """
    from snowflake.connector.util_text import split_statements

    config = config or load_config(sources_file(dags_dir))
    variables = {**variables, **config_variables(config, dags_dir)}
    seen: set[str] = set()
    for path in sorted(sql_dir.glob("*.sql")):
        text = render(path.read_text(), variables, f"{sql_dir.name}/{path.name}")
        for statement, _ in split_statements(io.StringIO(text), remove_comments=True):
            statement = statement.strip().rstrip(";").strip()
            if statement and statement not in seen:
                seen.add(statement)
                yield path.name, statement


def raw_table_statements(config: PipelineConfig) -> Iterator[tuple[str, str]]:
    from snowflake_pipeline.sql_render import render_create_table

    for source in config.sources:
        yield "sources.yml", render_create_table(config, source)


def apply(conn, variables: dict[str, str], config: PipelineConfig | None = None, echo=print) -> int:
    """Run every statement on an open connection; return how many ran."""
    config = config or load_config()
    todo = [*statements(variables, config=config), *raw_table_statements(config)]
    with closing(conn.cursor()) as cur:
        for number, (origin, statement) in enumerate(todo, 1):
            first_line = statement.splitlines()[0][:90]
            echo(f"  [{number:2}/{len(todo)}] {origin}: {first_line}")
            try:
                cur.execute(statement)
            except Exception as exc:
                raise SetupError(f"{origin}: statement failed: {first_line}\n  {exc}") from exc
    return len(todo)


def fingerprint(target: str, dags_dir: str | Path = DAGS_DIR) -> str:
    """Identifies what an apply would run, and against which target."""
    digest = hashlib.sha256(target.encode())
    files = [*sorted(SQL_DIR.glob("*.sql")), sources_file(dags_dir), analytics_file(dags_dir)]
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def connect(config: PipelineConfig | None = None):
    """Connect the way the DAGs do: through the config's Airflow connection."""
    from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

    connection_id = (config or load_config()).connection_id
    return SnowflakeHook(snowflake_conn_id=connection_id).get_conn()
