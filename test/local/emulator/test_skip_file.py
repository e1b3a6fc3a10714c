"""Guards local/emulator/skip_file.py: ON_ERROR = SKIP_FILE inside the caller's transaction, as
the pipeline runs it (BEGIN, COPY, COMMIT), on a real moto server."""

import io

import pytest
from snowflake.connector.errors import ProgrammingError

GOOD = {"a.csv": "n,word\n1,one\n2,two\n", "c.csv": "n,word\n3,three\n"}
BAD = ("b.csv", "n,word\n4,four\nfive,5\n6,six\n")  # line 3: text in the NUMBER column
COPY = (
    "COPY INTO raw.x.words FROM @raw.x.landing/words/ "
    "FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1) ON_ERROR = SKIP_FILE"
)


@pytest.fixture
def words(s3_session):
    s3, cur = s3_session
    cur.execute("CREATE TABLE raw.x.words (n NUMBER(38,0), word VARCHAR)")
    for name, body in [*GOOD.items(), BAD]:
        s3.put_object(Bucket="landing", Key=f"landing/words/{name}", Body=body.encode())
    return s3, cur


def _copy_in_transaction(cur, sql=COPY) -> dict[str, tuple]:
    cur.execute("BEGIN")
    result = cur.execute(sql).fetchall()
    columns = [d[0].lower() for d in cur.description]
    cur.execute("COMMIT")
    return {row[0].rsplit("/", 1)[-1]: dict(zip(columns, row, strict=True)) for row in result}


def test_good_files_load_and_the_bad_one_is_a_load_failed_row_with_its_line(words):
    _, cur = words
    result = _copy_in_transaction(cur)
    assert {name: (r["status"], r["rows_loaded"]) for name, r in result.items()} == {
        "a.csv": ("LOADED", 2),
        "c.csv": ("LOADED", 1),
        "b.csv": ("LOAD_FAILED", 0),
    }
    failed = result["b.csv"]
    assert "Could not convert" in failed["first_error"] and "five" in failed["first_error"]
    assert failed["first_error_line"] == 3
    assert failed["errors_seen"] == 1
    # The good files' rows were committed, none of the bad file's.
    rows = cur.execute("SELECT n, word FROM raw.x.words ORDER BY n").fetchall()
    assert rows == [(1, "one"), (2, "two"), (3, "three")]


def test_a_skipped_file_is_tried_again_and_loads_once_fixed(words):
    s3, cur = words
    _copy_in_transaction(cur)
    again = _copy_in_transaction(cur)
    assert again["b.csv"]["status"] == "LOAD_FAILED"  # not taken for loaded
    s3.put_object(Bucket="landing", Key="landing/words/b.csv", Body=b"n,word\n4,four\n6,six\n")
    fixed = _copy_in_transaction(cur)
    assert {n: r["status"] for n, r in fixed.items() if r["status"] != "LOAD_SKIPPED"} == {
        "b.csv": "LOADED"
    }
    assert cur.execute("SELECT n FROM raw.x.words ORDER BY n").fetchall() == [
        (1,),
        (2,),
        (3,),
        (4,),
        (6,),
    ]


def test_skip_file_with_a_transformation_and_a_parquet_that_is_not_one(s3_session):
    import pandas as pd

    s3, cur = s3_session
    cur.execute("CREATE TABLE raw.x.pq (n INTEGER, _file_name VARCHAR)")
    buffer = io.BytesIO()
    pd.DataFrame({"n": [7, 8]}).to_parquet(buffer, index=False)
    s3.put_object(Bucket="landing", Key="landing/pq/good.parquet", Body=buffer.getvalue())
    s3.put_object(Bucket="landing", Key="landing/pq/bad.parquet", Body=b"n\n1\n")
    result = _copy_in_transaction(
        cur,
        "COPY INTO raw.x.pq (n, _file_name) FROM (SELECT $1:n::INTEGER, METADATA$FILENAME "
        "FROM @raw.x.landing/pq/) FILE_FORMAT = (TYPE = PARQUET) ON_ERROR = SKIP_FILE",
    )
    assert {n: r["status"] for n, r in result.items()} == {
        "good.parquet": "LOADED",
        "bad.parquet": "LOAD_FAILED",
    }
    assert cur.execute("SELECT n, _file_name FROM raw.x.pq ORDER BY n").fetchall() == [
        (7, "pq/good.parquet"),
        (8, "pq/good.parquet"),
    ]


def test_abort_statement_is_unchanged_and_continue_is_refused_by_name(words):
    _, cur = words
    with pytest.raises(ProgrammingError, match=r"b\.csv', line 3"):
        cur.execute(COPY.replace("SKIP_FILE", "ABORT_STATEMENT"))
    with pytest.raises(ProgrammingError) as refused:
        cur.execute(COPY.replace("SKIP_FILE", "CONTINUE"))
    assert refused.value.errno == 1008 and "CONTINUE" in refused.value.msg
