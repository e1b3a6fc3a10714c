"""Ten times the sample flights: the real year 2013 shifted into ten consecutive years.

Every other column is kept, so the dbt models, their tests and the raw load see the same shapes
at ten times the rows. 2013 has no 29 February, so every shifted date exists.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

BASE_YEAR = 2013
YEARS = 10


def shift_years(flights: pd.DataFrame, years: int) -> pd.DataFrame:
    """The same flights `years` later: the `year` column and the `time_hour` stamp move."""
    stamp = flights["time_hour"].astype(str)
    shifted_year = (stamp.str.slice(0, 4).astype(int) + years).astype(str)
    return flights.assign(year=flights["year"] + years, time_hour=shifted_year + stamp.str.slice(4))


def monthly_files(flights: pd.DataFrame, years: int = YEARS) -> Iterator[tuple[str, bytes]]:
    """(key under the landing prefix, newline-delimited JSON) per month of every shifted year.

    The keys of the base year are the sample's own (flights/2013-MM.json), so landing these
    beside the samples adds the nine other years and lands nothing twice.
    """
    for offset in range(years):
        frame = shift_years(flights, offset)
        for month, rows in frame.groupby("month", sort=True):
            body = rows.to_json(orient="records", lines=True).encode()
            yield f"flights/{BASE_YEAR + offset}-{month:02d}.json", body


def land(s3, echo=print) -> int:
    """Land the nine other years beside the sample's flights; return the files uploaded."""
    from local.samples import LANDING_PREFIX, data_dir
    from local.settings import LANDING_BUCKET

    flights = pd.read_csv(data_dir() / "flights.csv.zip")
    uploaded = 0
    for key, body in monthly_files(flights):
        if key.startswith(f"flights/{BASE_YEAR}-"):
            continue  # the samples' own files
        s3.put_object(Bucket=LANDING_BUCKET, Key=LANDING_PREFIX + key, Body=body)
        uploaded += 1
    echo(f"  landed {uploaded} more flight files: {YEARS} years, {YEARS * len(flights):,} rows")
    return uploaded
