"""Apply the account setup in sql/ (and the raw tables of sources.yml) through the connector.

The same code serves `make snowflake-setup` against a real account, the local stack and the
compose and rehearsal containers: the connection is the config's `connection_id`, read through
Airflow's hook exactly as the DAGs read it. Every statement is idempotent (IF NOT EXISTS), so
re-applying is safe.
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

# sql/ sits beside airflow/ in the repository and beside dags/ in the image (/opt/airflow/sql).
SQL_DIR = next(
    (d for d in (DAGS_DIR.parent.parent / "sql", DAGS_DIR.parent / "sql") if d.is_dir()),
    DAGS_DIR.parent / "sql",
)
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
# Variables of sql/*.sql and the environment variables that set them.
VARIABLES = {
    "stage_url": "SNOWFLAKE_STAGE_URL",
    "storage_role_arn": "SNOWFLAKE_STORAGE_ROLE_ARN",
}


class SetupError(RuntimeError):
    pass


def variables_from_env(env: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if env is None else env)
    return {name: env[var] for name, var in VARIABLES.items() if env.get(var)}


def render(text: str, variables: dict[str, str], where: str) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in variables:
            var = VARIABLES.get(name, name.upper())
            raise SetupError(f"{where}: {{{{ {name} }}}} is not set; export {var}")
        return variables[name]

    return PLACEHOLDER.sub(substitute, text)


def statements(variables: dict[str, str], sql_dir: Path = SQL_DIR) -> Iterator[tuple[str, str]]:
    """Yield (file name, statement) for every statement of sql/*.sql, in file order."""
    from snowflake.connector.util_text import split_statements

    for path in sorted(sql_dir.glob("*.sql")):
        text = render(path.read_text(), variables, f"{sql_dir.name}/{path.name}")
        for statement, _ in split_statements(io.StringIO(text), remove_comments=True):
            if statement.strip().rstrip(";").strip():
                yield path.name, statement.strip().rstrip(";")


def raw_table_statements(config: PipelineConfig) -> Iterator[tuple[str, str]]:
    from snowflake_pipeline.sql_render import render_create_table

    for source in config.sources:
        yield "sources.yml", render_create_table(config, source)


def apply(conn, variables: dict[str, str], config: PipelineConfig | None = None, echo=print) -> int:
    """Run every statement on an open connection; return how many ran."""
    todo = [*statements(variables), *raw_table_statements(config or load_config())]
    with closing(conn.cursor()) as cur:
        for number, (origin, statement) in enumerate(todo, 1):
            first_line = statement.splitlines()[0][:90]
            echo(f"  [{number:2}/{len(todo)}] {origin}: {first_line}")
            try:
                cur.execute(statement)
            except Exception as exc:
                raise SetupError(f"{origin}: statement failed: {first_line}\n  {exc}") from exc
    return len(todo)


def fingerprint(target: str) -> str:
    """Identifies what an apply would run, and against which target."""
    digest = hashlib.sha256(target.encode())
    for path in [*sorted(SQL_DIR.glob("*.sql")), sources_file()]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def connect(config: PipelineConfig | None = None):
    """Connect the way the DAGs do: through the config's Airflow connection."""
    from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

    connection_id = (config or load_config()).connection_id
    return SnowflakeHook(snowflake_conn_id=connection_id).get_conn()
