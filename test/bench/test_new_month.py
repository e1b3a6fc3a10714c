"""The new-month scenario's files: months after the ten years, each of one month, never twice."""

import datetime

import pandas as pd

from bench.flights_10x import BASE_YEAR, YEARS
from bench.new_month import month_after, months_after


def _flights() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year": [2013, 2013, 2013, 2013],
            "month": [1, 1, 2, 12],
            "day": [1, 31, 28, 31],
            "flight": [1545, 1, 1714, 99],
            "time_hour": [
                "2013-01-01T10:00:00Z",
                "2013-01-31T23:00:00Z",
                "2013-02-28T23:00:00Z",
                "2014-01-01T04:00:00Z",
            ],
        }
    )


def _rows(body: bytes) -> pd.DataFrame:
    return pd.read_json(pd.io.common.BytesIO(body), lines=True)


def test_the_first_month_after_the_ten_years_holds_that_month_only():
    key, body, rows = month_after(_flights(), 0)
    first_year = BASE_YEAR + YEARS
    assert key == f"flights/{first_year}-01.json"
    frame = _rows(body)
    assert rows == len(frame) == 2
    assert frame["year"].tolist() == [first_year, first_year]
    assert frame["month"].tolist() == [1, 1]
    assert frame["flight"].tolist() == [1545, 1]
    assert frame["time_hour"].tolist() == [
        f"{first_year}-01-01T10:00:00Z",
        f"{first_year}-01-31T23:00:00Z",
    ]


def test_months_follow_one_another_past_a_year_with_real_dates():
    year = pd.DataFrame(
        {
            "year": 2013,
            "month": range(1, 13),
            "day": 28,
            "flight": range(12),
            "time_hour": [f"2013-{month:02d}-28T10:00:00Z" for month in range(1, 13)],
        }
    )
    files = list(months_after(year, 14))
    keys = [key for key, _body, _rows in files]
    assert len(set(keys)) == 14
    assert keys[:2] == ["flights/2023-01.json", "flights/2023-02.json"]
    assert keys[11:] == ["flights/2023-12.json", "flights/2024-01.json", "flights/2024-02.json"]
    for key, body, rows in files:
        frame = _rows(body)
        assert rows == len(frame) == 1
        for year_, month, day in frame[["year", "month", "day"]].itertuples(index=False):
            assert f"flights/{year_}-{month:02d}.json" == key
            datetime.date(year_, month, day)  # raises on an impossible date
