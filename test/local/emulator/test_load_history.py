"""Guards local/emulator/load_history.py."""


def _copy(cur) -> list[tuple]:
    cur.execute("CREATE TABLE IF NOT EXISTS raw.x.t (src VARIANT)")
    return cur.execute("COPY INTO raw.x.t FROM @raw.x.st FILE_FORMAT = (TYPE = JSON)").fetchall()


def test_create_if_not_exists_keeps_load_history(session):
    cur, _ = session
    assert [row[1] for row in _copy(cur)] == ["LOADED"]
    assert [row[1] for row in _copy(cur)] == ["LOAD_SKIPPED"]
    assert cur.execute("SELECT COUNT(*) FROM raw.x.t").fetchone() == (2,)
