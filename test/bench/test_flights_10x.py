"""The 10x flights generator: ten years of the sample's flights, every date a real date."""

import datetime

import pandas as pd

from bench.flights_10x import BASE_YEAR, YEARS, monthly_files, shift_years


def _flights() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year": [2013, 2013, 2013],
            "month": [1, 2, 12],
            "day": [1, 28, 31],
            "flight": [1545, 1714, 99],
            "time_hour": ["2013-01-01T10:00:00Z", "2013-02-28T23:00:00Z", "2014-01-01T04:00:00Z"],
        }
    )


def test_shift_moves_year_and_time_hour_only():
    shifted = shift_years(_flights(), 3)
    assert shifted["year"].tolist() == [2016, 2016, 2016]
    assert shifted["time_hour"].tolist() == [
        "2016-01-01T10:00:00Z",
        "2016-02-28T23:00:00Z",
        "2017-01-01T04:00:00Z",
    ]
    assert shifted["flight"].tolist() == [1545, 1714, 99]


def test_ten_years_keep_rows_times_ten_and_valid_dates():
    files = list(monthly_files(_flights()))
    rows = pd.concat(pd.read_json(pd.io.common.BytesIO(body), lines=True) for _, body in files)
    assert len(rows) == YEARS * len(_flights())
    assert sorted(rows["year"].unique()) == list(range(BASE_YEAR, BASE_YEAR + YEARS))
    for year, month, day in rows[["year", "month", "day"]].itertuples(index=False):
        datetime.date(year, month, day)  # raises on an impossible date
    assert {key for key, _ in files} >= {f"flights/{BASE_YEAR}-01.json", "flights/2022-12.json"}


def test_base_year_keeps_the_sample_keys():
    keys = [key for key, _ in monthly_files(_flights(), years=1)]
    assert keys == ["flights/2013-01.json", "flights/2013-02.json", "flights/2013-12.json"]
