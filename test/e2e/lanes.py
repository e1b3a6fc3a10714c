"""The end-to-end modules in two lanes, each run on a stack of its own.

Under `pytest -n 3` (`tox -e tests`) each lane goes to a worker of its own (test/conftest.py
schedules them), and so to the stack that worker starts, and the third worker takes the other
tests meanwhile; the lanes mostly wait on Airflow's scheduling, so two stacks on two cores take
little more than the longer lane. Without xdist the lanes run one after the other on one stack.
Within a lane the first load is proven first, then the scenarios
that break things; each scenario computes its expected totals from the files in the bucket.
"""

from __future__ import annotations

from pathlib import PurePosixPath

LANES = (
    (
        "test_pipeline",
        "test_bad_data",
        "test_alerts",
        "test_bad_config",
        "test_scale",
        # last: it leaves its sources (a pattern, compressed files) in the lane's sources file
        "test_landing_formats",
    ),
    # test_git_bundle first: its stack (DAGs from git) is its own and stops before the lane's
    ("test_git_bundle", "test_faults", "test_secrets", "test_events"),
)
MODULE_ORDER = tuple(module for lane in LANES for module in lane)
E2E_DIR = "test/e2e"


def lane_of(nodeid: str) -> str | None:
    """'e2e-lane-N' for a test of an end-to-end module, None for any other test."""
    path = PurePosixPath(nodeid.split("::", 1)[0])
    if str(path.parent) != E2E_DIR:
        return None
    number = next((n for n, lane in enumerate(LANES, start=1) if path.stem in lane), 1)
    return f"e2e-lane-{number}"
