"""DAGs from git (`make run DAGS_FROM=git`): a stack whose dag-processor reads its repository
through GitDagBundle. A commit runs without restarting anything; every run records the commit it
ran; a broken commit is an import error naming the file, recorded at that commit, and (Airflow
3.3.2) makes its DAG stale: no new run, a run in flight stalls until a fix commit, then ends on
its own commit, while the bundle's other DAGs run on; an old run re-runs on its own commit.

The scenarios run in order on one repository (module-scoped stack): each builds on the commits of
the one before.
"""

from __future__ import annotations

import time

import pytest

from local import dags_repo, git_repo, pipeline
from local import stack as stack_mod
from local.processes import wait_until

from . import data
from .conftest import analytics_paused, running_stack

pytestmark = pytest.mark.e2e

DAG_ID = "bundle_probe"
PROBE = f"{dags_repo.DAGS_SUBDIR}/{DAG_ID}.py"
PARSE_TIMEOUT = 120  # a fetch every REFRESH_SECONDS, then a parse


def probe_dag(*task_ids: str) -> str:
    """A small DAG file whose tasks, in a chain, each print the tasks of their version."""
    return f'''"""bundle_probe: a small DAG the git-bundle test commits, version after version."""

from airflow.sdk import DAG, task

TASKS = {task_ids!r}

with DAG(dag_id="{DAG_ID}", schedule=None, catchup=False, tags=["test"]):
    previous = None
    for task_id in TASKS:

        @task(task_id=task_id)
        def step():
            print(f"bundle_probe code with tasks {{TASKS}}")

        current = step()
        if previous is not None:
            previous >> current
        previous = current
'''


@pytest.fixture(scope="module")
def git_stack(tmp_path_factory, sources_file):
    """A stack of this module's own: DAGs from its git repository (the lane's stack reads the
    working tree's folder)."""
    home = tmp_path_factory.mktemp("git-stack")
    # its scenarios assert on the raw layer and the probe only
    with running_stack(home, sources_file, "git") as (settings, api), analytics_paused(api):
        yield settings, api


@pytest.fixture(scope="module")
def runs() -> dict[str, pipeline.RunOutcome]:
    """The probe's runs, by the scenario that made them, for the scenarios after it."""
    return {}


def _task_ids(api) -> list[str] | None:
    return sorted(api.task_ids(DAG_ID)) if api.dag(DAG_ID) else None


def _run_probe(api) -> pipeline.RunOutcome:
    run_id = api.trigger(DAG_ID, note="e2e git bundle")["dag_run_id"]
    return pipeline.follow(api, DAG_ID, run_id, 300, echo=lambda _line: None)


def _commit(settings, text: str | None, message: str) -> str:
    return git_repo.commit_files(dags_repo.repo_dir(settings), {PROBE: text}, message)


def test_the_stack_parses_the_repository_at_its_head(git_stack):
    settings, api = git_stack
    repo = dags_repo.repo_dir(settings)
    head = git_repo.head(repo)
    assert dags_repo.parsed_version(settings) == head
    assert {d for d in stack_mod.DAG_IDS if api.dag(d)} == set(stack_mod.DAG_IDS)
    # the bundle reads a clone of the repository, not the working tree's airflow/dags
    assert (repo / dags_repo.DAGS_SUBDIR / "snowflake_raw.py").is_file()


def test_a_commit_runs_without_restarting_anything(git_stack, runs):
    settings, api = git_stack
    processes_before = stack_mod.status(settings)

    first = _commit(settings, probe_dag("hello"), "bundle_probe: one task")
    wait_until(lambda: _task_ids(api) == ["hello"], PARSE_TIMEOUT, "bundle_probe parsed")
    runs["first"] = run = _run_probe(api)
    assert (run.state, run.tasks) == ("success", {"hello": "success"})
    assert run.bundle_version == first

    second = _commit(settings, probe_dag("hello", "added"), "bundle_probe: a second task")
    wait_until(lambda: _task_ids(api) == ["added", "hello"], PARSE_TIMEOUT, "the new task parsed")
    runs["second"] = run = _run_probe(api)
    assert (run.state, run.tasks) == ("success", {"hello": "success", "added": "success"})
    assert run.bundle_version == second == git_repo.head(dags_repo.repo_dir(settings))
    log = api.task_log(DAG_ID, run.run_id, "added")
    assert "bundle_probe code with tasks ('hello', 'added')" in log
    # the same processes, none restarted
    assert stack_mod.status(settings) == processes_before


def test_a_broken_commit_is_an_import_error_naming_the_file_and_the_commit(git_stack, runs):
    settings, api = git_stack
    good_text = probe_dag("hello", "added")
    broken = _commit(
        settings,
        good_text + '\nraise RuntimeError("bundle_probe broken on purpose")\n',
        "bundle_probe: broken",
    )

    def probe_error():
        found = [e for e in api.import_errors() if e["filename"].endswith(f"{DAG_ID}.py")]
        return found[0] if found else None

    error = wait_until(probe_error, PARSE_TIMEOUT, "the import error of bundle_probe.py")
    # The import error names the file in the bundle; Airflow 3.3's import error has no bundle
    # version field (id, timestamp, filename, bundle_name, stack_trace), so the commit it was
    # found in is the version the dag-processor had refreshed the bundle to (its dag_bundle row).
    assert error["filename"] == f"{DAG_ID}.py"
    assert error["bundle_name"] == dags_repo.BUNDLE_NAME
    assert "bundle_probe broken on purpose" in error["stack_trace"]
    assert "bundle_version" not in error
    assert dags_repo.parsed_version(settings) == broken

    # Airflow 3.3.2 marks the DAG of a file that fails to import stale: its last good version is
    # not run, a trigger is refused until a commit fixes the file (README, "DAGs from git").
    probe = api.dag(DAG_ID)
    assert (probe["is_stale"], probe["has_import_errors"]) == (True, True)
    with pytest.raises(RuntimeError, match="HTTP 404"):
        api.trigger(DAG_ID, note="e2e git bundle, broken")
    # The bundle's other DAGs keep running, on the new commit once their file is parsed at it (a
    # DAG's bundle_version: the commit its file was last parsed at, which a new run takes).
    wait_until(
        lambda: api.dag(pipeline.RAW)["bundle_version"] == broken,
        PARSE_TIMEOUT,
        f"{pipeline.RAW} parsed at the new commit",
    )
    raw = data.run_raw(api)
    assert raw.state == "success", raw.tasks
    assert raw.bundle_version == broken

    fixed = _commit(settings, good_text, "bundle_probe: fixed")
    wait_until(lambda: not probe_error(), PARSE_TIMEOUT, "the import error to clear")
    run = wait_until(lambda: _triggered(api), PARSE_TIMEOUT, "bundle_probe triggerable again")
    run = pipeline.follow(api, DAG_ID, run["dag_run_id"], 300, echo=lambda _line: None)
    assert (run.state, run.tasks) == ("success", {"hello": "success", "added": "success"})
    assert run.bundle_version == fixed


def _triggered(api) -> dict | None:
    """A new run of the probe, or None while Airflow refuses it (the DAG still stale)."""
    try:
        return api.trigger(DAG_ID, note="e2e git bundle")
    except RuntimeError as exc:
        if "HTTP 404" in str(exc):
            return None
        raise


IN_FLIGHT = f"{dags_repo.DAGS_SUBDIR}/bundle_in_flight.py"
IN_FLIGHT_DAG = '''"""bundle_in_flight: a run still going when its DAG file breaks."""

import time

from airflow.sdk import DAG, task

with DAG(dag_id="bundle_in_flight", schedule=None, catchup=False, tags=["test"]):

    @task
    def wait():
        time.sleep(20)

    @task
    def after():
        print("after ran")

    wait() >> after()
'''


def test_a_run_in_flight_waits_while_its_dag_is_broken_and_ends_on_its_own_commit(git_stack):
    """Airflow 3.3.2 does not schedule the tasks of a stale DAG's running runs either: the task
    that was running finishes, the next one waits for the fix, then runs the run's own commit."""
    settings, api = git_stack
    repo = dags_repo.repo_dir(settings)
    dag_id = "bundle_in_flight"
    good = git_repo.commit_files(repo, {IN_FLIGHT: IN_FLIGHT_DAG}, "bundle_in_flight")
    wait_until(lambda: api.dag(dag_id), PARSE_TIMEOUT, f"{dag_id} parsed")
    run_id = api.trigger(dag_id, note="e2e in flight")["dag_run_id"]

    def states():
        return {t["task_id"]: t["state"] for t in api.task_instances(dag_id, run_id)}

    wait_until(lambda: states().get("wait") == "running", 120, "the first task running")
    git_repo.commit_files(repo, {IN_FLIGHT: IN_FLIGHT_DAG + "\nraise RuntimeError\n"}, "broken")
    wait_until(lambda: api.dag(dag_id)["is_stale"], PARSE_TIMEOUT, f"{dag_id} stale")
    wait_until(lambda: states()["wait"] == "success", 120, "the running task to finish")
    time.sleep(15)  # the scheduler loops every 2 s locally: ample time to have scheduled `after`
    assert states() == {"wait": "success", "after": None}
    assert api.dag_run(dag_id, run_id)["state"] == "running"

    git_repo.commit_files(repo, {IN_FLIGHT: IN_FLIGHT_DAG}, "fixed")
    run = pipeline.follow(api, dag_id, run_id, 300, echo=lambda _line: None)
    assert (run.state, run.tasks) == ("success", {"wait": "success", "after": "success"})
    assert run.bundle_version == good


def test_an_old_run_reruns_on_its_own_commit(git_stack, runs):
    _, api = git_stack
    first = runs["first"]
    api.clear_run(DAG_ID, first.run_id)
    again = pipeline.follow(api, DAG_ID, first.run_id, 300, echo=lambda _line: None)
    # its own commit's code: one task, not the two of the later commits
    assert (again.state, again.tasks) == ("success", {"hello": "success"})
    assert again.bundle_version == first.bundle_version
    log = api.task_log(DAG_ID, first.run_id, "hello")
    assert "bundle_probe code with tasks ('hello',)" in log
