"""The image, built and run: in-image tests, the user, the entrypoint contract, no secrets."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from xml.etree import ElementTree

from deploy.containers import compose
from deploy.containers.engine import REPO
from deploy.containers.engine import progress as say


def test_the_test_target_builds_and_its_tests_pass_inside_the_image(engine, bases, build_context):
    """The build fails when a test fails; the report is the one of the run that built the layer
    (a cached layer is the result of the same inputs)."""
    tag, _ = compose.build_target(engine, bases, build_context, "test", say)
    report = engine.docker(
        "run", "--rm", "--entrypoint", "cat", tag, "/opt/airflow/test-results.xml"
    )
    suite = ElementTree.fromstring(report.stdout)
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {key: int(suite.get(key)) for key in ("tests", "failures", "errors")}
    assert counts["failures"] == counts["errors"] == 0, counts
    assert counts["tests"] == host_collected_count(), "the image ran other tests than the tree has"


def host_collected_count() -> int:
    """How many tests the image's pytest command selects, collected here from the same files."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + ["-m", "not e2e", "test/dags", "test/plugins"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(re.search(r"(\d+)(?:/\d+)? tests? collected", done.stdout)[1])


def _run(engine, image: str, *command: str) -> str:
    done = engine.docker(
        "run", "--rm", "--env", "CONNECTION_CHECK_MAX_COUNT=0", image, *command, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_image_runs_as_airflow_uid_50000_gid_0(engine, images):
    assert _run(engine, images.runtime, "bash", "-c", "id -u; id -g").split() == ["50000", "0"]


def test_the_entrypoint_passes_other_commands_to_airflow(engine, images):
    assert _run(engine, images.runtime, "version").strip().splitlines()[-1] == "3.3.2"
    # `python ...` runs as given (here: Python, not `airflow python`)
    out = _run(engine, images.runtime, "python", "-c", "import sys; print(sys.argv[0])")
    assert out.strip().splitlines()[-1] == "-c"


def test_the_image_filesystem_holds_no_secret_of_the_env_file(engine, images, secrets):
    """The build context held a .env with these values (compose.build_context)."""
    needles = {key: value.encode() for key, value in secrets.items()}
    found, files = [], 0
    for path, content in compose.image_files(engine, images.runtime):
        files += 1
        assert not path.endswith("/.env") and path != ".env", f"{path} is in the image"
        found += [(key, path) for key, needle in needles.items() if needle in content]
    assert files > 10_000, f"only {files} files exported: not the image filesystem"
    assert not found, f"secrets of .env in the image: {found}"
    inspect = engine.docker("image", "inspect", images.runtime).stdout
    assert not [key for key, value in secrets.items() if value in inspect]


def test_the_image_carries_the_dbt_project_with_its_manifest_read_only(engine, images):
    """Built offline in the image's manifest stage; Cosmos renders snowflake_analytics from it."""
    script = (
        "test -s /opt/airflow/dbt/target/manifest.json && test -f /opt/airflow/dbt/dbt_project.yml"
        " && ! test -w /opt/airflow/dbt/target/manifest.json && echo ok"
    )
    assert _run(engine, images.runtime, "bash", "-c", script).strip().splitlines()[-1] == "ok"


def test_ssh_in_the_image_reads_the_git_hosts_keys_from_the_environment(engine, images):
    """The ssh a GitDagBundle runs takes the pinned host keys from GIT_SSH_KNOWN_HOSTS (the
    stack's GitSshKnownHosts; the dev-git-ssh rehearsal connects with them)."""
    config = (REPO / "docker" / "ssh_config_git_known_hosts.conf").read_text()
    (expected,) = [line for line in config.splitlines() if line.startswith("KnownHostsCommand")]
    out = _run(engine, images.runtime, "bash", "-c", "ssh -G git.example.com")
    effective = [line for line in out.splitlines() if line.startswith("knownhostscommand ")]
    assert effective == ["knownhostscommand " + expected.split(" ", 1)[1]]


def test_a_new_container_compiles_nothing_it_imports_to_start_and_run_tasks(engine, images):
    """The image holds the bytecode (docker/precompile.py): a fresh container, a Fargate task or
    an ECS executor worker, starts without compiling Airflow, the providers, dbt or Cosmos."""
    name = f"asf-bytecode-{uuid.uuid4().hex[:8]}"
    imports = (
        "import airflow.sdk.execution_time.supervisor, airflow.sdk.execution_time.task_runner;"
        " import snowflake_pipeline.load, snowflake_pipeline.dbt_project;"
        " import cosmos.operators.watcher, dbt.cli.main, dbt.adapters.snowflake"
    )
    started = engine.docker(
        "run", "--name", name, "--env", "PYTHONPATH=/opt/airflow/plugins",
        images.runtime, "bash", "-c", f"airflow version && python -c '{imports}'", check=False,
    )  # fmt: skip
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        changed = engine.docker("diff", name).stdout.splitlines()
    finally:
        engine.docker("rm", "--force", name, check=False)
    written = [line for line in changed if line.endswith(".pyc")]
    assert not written, f"{len(written)} modules compiled at start, e.g. {written[:5]}"
