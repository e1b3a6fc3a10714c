"""Test-wide setup: Airflow gets a throwaway home so tests never touch ~/airflow."""

import atexit
import os
import shutil
import tempfile
from pathlib import PurePosixPath

import pytest

if "AIRFLOW_HOME" not in os.environ:
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-test-home-")
    atexit.register(shutil.rmtree, os.environ["AIRFLOW_HOME"], ignore_errors=True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


# Modules whose tests share a costly module-scoped, parametrized fixture: to one worker whole, so
# it is set up once a parameter (test_rehearsal_stacks: ~10 s a variant) rather than on both
# workers and again at every change of parameter.
_WHOLE_MODULES = {"test/deploy/test_rehearsal_stacks.py"}


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
            module = nodeid.split("::", 1)[0]
            return lane_of(nodeid) or (module if module in _WHOLE_MODULES else nodeid)

    return LaneScheduling(config, log)


# The sources file a test reads by default, as this session started: a worker that runs an
# end-to-end lane points PIPELINE_SOURCES_FILE at the lane's own file (edited by its scenarios)
# for the rest of the session, and that worker runs other tests too.
_SOURCES_FILE_AT_START = os.environ.get("PIPELINE_SOURCES_FILE")


@pytest.fixture(autouse=True)
def _sources_file_of_the_session_outside_the_lanes(request, monkeypatch):
    # every module directly in test/e2e runs in a lane (test/e2e/lanes.py); no import of it here:
    # the image's test stage runs test/dags and test/plugins alone
    if PurePosixPath(request.node.nodeid.split("::", 1)[0]).parent == PurePosixPath("test/e2e"):
        return
    if _SOURCES_FILE_AT_START is None:
        monkeypatch.delenv("PIPELINE_SOURCES_FILE", raising=False)
    else:
        monkeypatch.setenv("PIPELINE_SOURCES_FILE", _SOURCES_FILE_AT_START)
