"""CREATE TEMPORARY TABLE <database>.<schema>.<name>, which Snowflake allows and dbt issues (the
temporary relation of an incremental model: `flights__dbt_tmp`).

DuckDB keeps temporary tables in a catalog of their own and refuses a qualified name ("TEMPORARY
table names can *only* use the temp catalog"). Here such a table is created as a table of that
schema: it outlives the session (dbt drops it when the model is done; a crashed run's table is
replaced by the next run's CREATE OR REPLACE). Unqualified temporary tables stay fakesnow's.
"""

from __future__ import annotations

from local.emulator.fakesnow_internals import internal


def qualified_temporary_to_table(expression):
    """The statement without TEMPORARY when it creates a table named with its database."""
    from sqlglot import exp

    if not (isinstance(expression, exp.Create) and str(expression.kind).upper() == "TABLE"):
        return expression
    table = expression.this.this if isinstance(expression.this, exp.Schema) else expression.this
    properties = expression.args.get("properties")
    temporary = properties.find(exp.TemporaryProperty) if properties else None
    if temporary is not None and isinstance(table, exp.Table) and table.catalog:
        temporary.pop()
    return expression


def install() -> None:
    cursor = internal("fakesnow.cursor", "FakeSnowflakeCursor", "temporary_tables")
    original = internal("fakesnow.cursor", "FakeSnowflakeCursor._transform", "temporary_tables")

    def _transform(self, expression, params):
        return original(self, qualified_temporary_to_table(expression), params)

    cursor._transform = _transform
