"""Guards local/emulator/copy_pattern.py: PATTERN filters the listing (on a real moto server)."""

import pytest
from snowflake.connector.errors import ProgrammingError


def test_pattern_loads_only_the_matching_files_of_the_prefix(s3_session):
    s3, cur = s3_session
    keys = {
        "landing/riots/2024/05/01/part-0001.json": 2,
        "landing/riots/2024/05/02/part-0001.json": 3,
        "landing/riots/2024/05/01/_SUCCESS": 0,
        "landing/riots/manifest.txt": 0,
    }
    for key, rows in keys.items():
        body = "".join(f'{{"n": {n}}}\n' for n in range(rows)) or "not json at all\n"
        s3.put_object(Bucket="landing", Key=key, Body=body.encode())
    result = cur.execute(
        "COPY INTO raw.x.riots FROM @raw.x.landing/riots/ FILE_FORMAT = (TYPE = JSON) "
        "PATTERN = '.*part-[0-9]+[.]json'"
    ).fetchall()
    wanted = {f"s3://landing/{k}": n for k, n in keys.items() if k.endswith(".json")}
    assert {row[0]: row[3] for row in result} == wanted
    assert cur.execute("SELECT COUNT(*) FROM raw.x.riots").fetchone() == (sum(wanted.values()),)


def test_the_pattern_matches_the_whole_key_not_a_part_of_it(s3_session):
    s3, cur = s3_session
    s3.put_object(Bucket="landing", Key="landing/riots/a.json", Body=b'{"n": 1}\n')
    # Without a leading .*, a pattern naming only the file matches no key (keys have folders).
    result = cur.execute(
        "COPY INTO raw.x.riots FROM @raw.x.landing/riots/ FILE_FORMAT = (TYPE = JSON) "
        "PATTERN = 'a[.]json'"
    ).fetchall()
    assert result == [("Copy executed with 0 files processed.",)]


def test_a_pattern_that_is_no_regular_expression_is_refused_by_name(s3_session):
    _, cur = s3_session
    with pytest.raises(ProgrammingError, match=r"PATTERN = '\(\['.*regular expression") as error:
        cur.execute(
            "COPY INTO raw.x.riots FROM @raw.x.landing/riots/ FILE_FORMAT = (TYPE = JSON) "
            "PATTERN = '(['"
        )
    assert error.value.errno == 1008
