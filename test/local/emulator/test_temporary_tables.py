"""Guards local/emulator/temporary_tables.py: a temporary table named with its database and schema
(dbt's incremental `<model>__dbt_tmp`) is created, read and dropped."""


def test_a_qualified_temporary_table_is_created_read_and_dropped(session):
    cur, _ = session
    cur.execute("CREATE OR REPLACE TEMPORARY TABLE raw.x.model__dbt_tmp AS SELECT 1 AS a")
    assert cur.execute("SELECT a FROM raw.x.model__dbt_tmp").fetchall() == [(1,)]
    cur.execute("CREATE OR REPLACE TEMPORARY TABLE raw.x.model__dbt_tmp (a INTEGER, b VARCHAR)")
    assert cur.execute("SELECT COUNT(*) FROM raw.x.model__dbt_tmp").fetchone() == (0,)
    cur.execute("DROP TABLE IF EXISTS raw.x.model__dbt_tmp CASCADE")
    tables = cur.execute(
        "SELECT COUNT(*) FROM raw.information_schema.tables WHERE table_name = 'MODEL__DBT_TMP'"
    ).fetchone()
    assert tables == (0,)
