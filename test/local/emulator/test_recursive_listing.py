"""Guards local/emulator/recursive_listing.py (on a real moto server)."""


def test_a_stage_path_loads_its_sub_folders_as_snowflake_does(s3_session):
    s3, cur = s3_session
    days = {f"landing/riots/2024/05/0{day}/part-0001.json": day for day in (1, 2, 3)}
    for key, day in days.items():
        body = "".join(f'{{"day": {day}, "n": {n}}}\n' for n in range(day * 10))
        s3.put_object(Bucket="landing", Key=key, Body=body.encode())
    s3.put_object(Bucket="landing", Key="landing/riots/2024/", Body=b"")  # a folder marker
    s3.put_object(Bucket="landing", Key="landing/riots_other/x.json", Body=b'{"day": 9}\n')

    result = cur.execute(
        "COPY INTO raw.x.riots FROM @raw.x.landing/riots/ FILE_FORMAT = (TYPE = JSON)"
    ).fetchall()
    loaded = {row[0]: (row[1], row[3]) for row in result}
    assert loaded == {f"s3://landing/{key}": ("LOADED", day * 10) for key, day in days.items()}
    assert cur.execute("SELECT COUNT(*) FROM raw.x.riots").fetchone() == (60,)
    # A key prefix, not only a folder: @stage/riots takes riots_other/ as Snowflake does.
    again = cur.execute(
        "COPY INTO raw.x.riots FROM @raw.x.landing/riots FILE_FORMAT = (TYPE = JSON)"
    ).fetchall()
    assert sorted((row[0], row[1]) for row in again) == sorted(
        [(f"s3://landing/{key}", "LOAD_SKIPPED") for key in days]
        + [("s3://landing/landing/riots_other/x.json", "LOADED")]
    )
