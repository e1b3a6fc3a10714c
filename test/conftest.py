"""Test-wide setup: Airflow gets a throwaway home so tests never touch ~/airflow."""

import atexit
import os
import shutil
import tempfile

import pytest

if "AIRFLOW_HOME" not in os.environ:
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-test-home-")
    atexit.register(shutil.rmtree, os.environ["AIRFLOW_HOME"], ignore_errors=True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: the image's test stage runs without it
def pytest_xdist_make_scheduler(config, log):
    """Under `pytest -n N`: each end-to-end lane to one worker, whole and in order (its worker
    starts the lane's stack); every other test load-balanced on its own. xdist's own loadgroup
    mode cannot do this with pytest 9 (it tags groups onto node ids, which pytest 9 computes)."""
    from xdist.scheduler import LoadScopeScheduling

    from test.e2e.lanes import lane_of

    class LaneScheduling(LoadScopeScheduling):
        # Scopes go out largest first (xdist's loadscopereorder): the lanes start at once.
        def _split_scope(self, nodeid: str) -> str:
            return lane_of(nodeid) or nodeid

    return LaneScheduling(config, log)
