"""docker-compose-local.yml with the emulators, run on the built images, end to end.

The tests run in file order on one stack: healthy services, both DAGs, the figures, what only a
running container shows, a second `up` on the kept volumes, and `down -v`.
"""

from __future__ import annotations

import json

import pytest

from deploy.containers import compose
from local import git_server, pipeline
from local.airflow_api import AirflowAPI
from local.processes import wait_until
from test.e2e.expected import delays_from_report

READ_BACK = "from local.__main__ import main; main(['read-back'])"
SERVED_REPOSITORY = f"/opt/airflow/.local/git-server/{git_server.REPOSITORY}"
CHANGED_DESCRIPTION = "Loads the landed files into the raw tables (pushed to git)"
# In the git server's container: clone over HTTPS with the token, change, commit, push.
PUSH_A_DAG_CHANGE = f"""
set -euo pipefail
export GIT_SSL_CAINFO=/opt/airflow/.local/tls/git/ca.pem
work=$(mktemp -d)
url="https://x-access-token:$GIT_SERVER_TOKEN@git-server:8443/{git_server.REPOSITORY}"
git clone --quiet "$url" "$work"
cd "$work"
python - <<'PY'
import re, pathlib
dag = pathlib.Path("airflow/dags/snowflake_raw.py")
text, n = re.subn(r'description="[^"]*"', 'description="{CHANGED_DESCRIPTION}"', dag.read_text())
assert n == 1, n
dag.write_text(text)
PY
git -c user.name=dev -c user.email=dev@example.com commit --quiet -am "new description"
git push --quiet origin main
"""


def read_back(stack) -> dict:
    return json.loads(stack.python_in("snowflake-setup", READ_BACK).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def first_run(stack):
    return stack.wait_pipeline()


def test_every_long_running_service_becomes_healthy(stack):
    assert set(stack.wait_healthy().values()) == {"healthy"}


def test_both_dags_succeed(first_run):
    assert [(o.dag_id, o.state) for o in first_run] == [
        (pipeline.RAW, "success"),
        (pipeline.ANALYTICS, "success"),
    ], [o.failed_tasks for o in first_run]


def test_the_figures_equal_the_independent_computation(stack, first_run, expected):
    result = read_back(stack)
    assert delays_from_report(result["delays"]) == expected["delays"]
    raw = {k: v for k, v in result["counts"].items() if k.startswith("raw.")}
    assert raw == expected["raw_counts"]


def test_each_component_passes_the_images_health_check_as_uid_50000(stack):
    for service in ("api-server", "scheduler", "dag-processor", "triggerer"):
        container = stack.container(service)["Id"]
        ids = stack.engine.docker("exec", container, "id", "-u").stdout.split()
        assert ids == ["50000"], (service, ids)
        check = stack.engine.docker(
            "exec", container, "/usr/local/bin/airflow-healthcheck", check=False
        )
        assert check.returncode == 0, (service, check.stdout, check.stderr)


def test_only_the_ui_is_published_and_only_on_loopback(stack):
    published = {}
    for info in stack.containers():
        for port, bindings in (info["NetworkSettings"]["Ports"] or {}).items():
            if bindings:
                service = info["Config"]["Labels"]["com.docker.compose.service"]
                published[service, port] = sorted((b["HostIp"], b["HostPort"]) for b in bindings)
    assert published == {("api-server", "8080/tcp"): [("127.0.0.1", str(stack.api_port))]}


def git_server_head(stack) -> str:
    return stack.compose(
        "exec", "-T", "git-server", "git", "-C", SERVED_REPOSITORY, "rev-parse", "main"
    ).stdout.strip()


def test_a_second_up_with_dags_from_git_on_the_kept_volumes_loads_nothing_twice(
    stack, first_run, expected
):
    before = read_back(stack)
    stack.down(volumes=False)
    assert stack.leftovers()["volume"], "down without -v must keep the volumes"
    # the same stack, its DAGs now read from the git server (docker-compose-git.yml)
    stack.files = (compose.COMPOSE_FILE, compose.GIT_COMPOSE_FILE)
    stack.up()
    (again,) = stack.wait_pipeline(after_runs=1)  # nothing new: no analytics run
    assert again.state == "success", again.failed_tasks
    assert first_run[0].bundle_version is None  # the image's DAG folder has no versions
    assert again.bundle_version == git_server_head(stack)
    after = read_back(stack)
    assert after["loaded"] == before["loaded"], "files were loaded again"
    assert set(after["loaded"].values()) == {1}
    assert {k: v for k, v in after["counts"].items() if k.startswith("raw.")} == expected[
        "raw_counts"
    ]


def test_a_dag_change_pushed_to_git_runs_without_a_rebuild_or_restart(stack):
    api = AirflowAPI(stack.api_url)
    before = git_server_head(stack)
    # a user's push over HTTPS with the token (from inside the git server's container: the
    # compose network is not published); the change: snowflake_raw's description
    stack.compose("exec", "-T", "git-server", "bash", "-c", PUSH_A_DAG_CHANGE)
    pushed = git_server_head(stack)
    assert pushed != before
    wait_until(
        lambda: (api.dag(pipeline.RAW) or {}).get("description") == CHANGED_DESCRIPTION,
        timeout=180,
        what="the pushed description parsed",
        interval=2,
    )
    run_id = pipeline.trigger_raw(api, note="the pushed commit")
    outcome = pipeline.follow(api, pipeline.RAW, run_id, 600, stack.say)
    assert outcome.state == "success", outcome.failed_tasks
    assert outcome.bundle_version == pushed


def test_down_with_volumes_leaves_no_container_volume_or_network(stack):
    stack.down(volumes=True)
    assert stack.leftovers() == {"volume": [], "network": [], "container": []}
