"""The Dockerfile, parsed: stages, what ships in the image, and what stays out of it."""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

BASE_IMAGE = "apache/airflow:3.3.2-python3.12"
CONSTRAINED_INSTALL = re.compile(
    r"uv pip install --no-cache .*-c /tmp/requirements/constraints\.txt"
)


def lineage(stages, name):
    """The stage and its ancestors, nearest first."""
    chain = []
    while name in stages:
        chain.append(stages[name])
        name = stages[name].base
    return chain


def test_stages_and_their_order(stages):
    assert list(stages) == ["deps", "manifest", "app", "workspace", "test", "dev", "runtime"]
    # the official base by default; a stand-in only where it cannot be pulled (the tier)
    assert stages["deps"].base == "${AIRFLOW_BASE_IMAGE}"
    assert f"ARG AIRFLOW_BASE_IMAGE={BASE_IMAGE}" in (REPO / "Dockerfile").read_text()
    # the default target (the last stage) is the production image, not test or dev
    assert [s.name for s in lineage(stages, "runtime")] == ["runtime", "app", "deps"]


def test_runtime_requirements_are_installed_with_the_lock(stages):
    install, precompile = stages["deps"].args("RUN")
    assert CONSTRAINED_INSTALL.search(install)
    assert "-r /tmp/requirements/requirements.txt" in install
    # then the bytecode of what runs, written once into the image (test_image.py checks it)
    assert precompile == "python /tmp/precompile.py"
    assert stages["deps"].args("COPY") == [
        "requirements.txt constraints.txt /tmp/requirements/",
        "docker/precompile.py /tmp/precompile.py",
    ]


def test_the_image_holds_dags_plugins_and_sql_where_airflow_looks(stages):
    copies = stages["app"].args("COPY")
    assert "airflow/dags/ /opt/airflow/dags/" in copies
    assert "airflow/plugins/ /opt/airflow/plugins/" in copies
    assert "sql/ /opt/airflow/sql/" in copies
    # $AIRFLOW_HOME/config is on sys.path: airflow_local_settings.py preloads the connector.
    assert "airflow/config/ /opt/airflow/config/" in copies
    (env,) = stages["app"].args("ENV")
    assert "AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags" in env
    assert "AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins" in env
    # Cosmos sends usage telemetry unless told not to; dbt too
    assert "AIRFLOW__COSMOS__ENABLE_TELEMETRY=False" in env and "DO_NOT_TRACK=1" in env
    # the build is never retried, so Cosmos's copy of its XComs for a retry is off (as locally)
    assert "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY=False" in env
    # a finished task frees its executor slot within 1 s, not 5 (as locally)
    assert "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL=1" in env
    # no probe of the cloud's metadata endpoints at each Snowflake login (as locally)
    assert "SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true" in env


def test_the_image_carries_the_dbt_project_and_the_manifest_built_offline(stages):
    # beside plugins/, where snowflake_pipeline.dbt_project looks for it
    assert "--from=manifest --chown=0:0 /tmp/dbt/ /opt/airflow/dbt/" in stages["app"].args("COPY")
    assert stages["manifest"].base == "deps"
    assert stages["manifest"].args("COPY") == ["--chown=50000:0 dbt/ /tmp/dbt/"]
    (parse,) = stages["manifest"].args("RUN")
    # the parse-only profile: no secret, no connection; telemetry off
    assert "DBT_PROFILES_DIR=/tmp/dbt/parse_profile" in parse and "DO_NOT_TRACK=1" in parse
    assert "dbt parse" in parse and "test -s target/manifest.json" in parse
    assert (REPO / "dbt" / "parse_profile" / "profiles.yml").is_file()


def test_every_stage_ends_as_the_non_root_airflow_user(stages):
    for name in stages:
        users = [u for stage in lineage(stages, name) for u in reversed(stage.args("USER"))]
        assert users and users[0] == "50000", name


def test_the_runtime_image_has_a_health_check_and_labels(stages):
    chain = lineage(stages, "runtime")
    (healthcheck,) = [h for stage in chain for h in stage.args("HEALTHCHECK")]
    assert healthcheck.endswith('CMD ["/usr/local/bin/airflow-healthcheck"]')
    labels = " ".join(label for stage in chain for label in stage.args("LABEL"))
    for key in ("title", "description", "licenses", "version", "revision", "base.name"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in labels


def test_the_test_stage_runs_the_dag_and_unit_tests(stages):
    (run,) = stages["test"].args("RUN")
    assert 'pytest -p no:cacheprovider -m "not e2e" test/dags test/plugins' in run
    assert CONSTRAINED_INSTALL.search(run)
    assert stages["workspace"].args("COPY") == ["pyproject.toml /opt/airflow/pyproject.toml"]


def test_the_dev_stage_adds_the_emulators_and_local(stages):
    install, make_dirs = stages["dev"].args("RUN")
    assert CONSTRAINED_INSTALL.search(install)
    assert "-r /tmp/requirements/requirements-dev.txt" in install
    # The stand-ins' state (their CA, fakesnow's data, the git server's repositories) exists in
    # the dev image only.
    assert make_dirs == (
        "mkdir -p /opt/airflow/.local/tls /opt/airflow/.local/snowflake"
        " /opt/airflow/.local/git-server"
    )
    assert not [
        (name, run)
        for name, stage in stages.items()
        if name != "dev"
        for run in stage.args("RUN")
        if ".local/" in run
    ]
    assert stages["dev"].args("COPY") == [
        "requirements-dev.txt /tmp/requirements/",
        "local/ /opt/airflow/local/",
    ]


def test_no_secret_is_baked_into_the_image(stages):
    names = []
    for stage in stages.values():
        for keyword, args in stage.instructions:
            if keyword in ("ENV", "ARG"):
                names += re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", args)
    assert names, "no ENV/ARG parsed"
    assert not [n for n in names if re.search(r"PASSWORD|SECRET|TOKEN|FERNET|_KEY", n, re.I)]


def dockerignore_patterns() -> list[tuple[bool, str]]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [(rule.startswith("!"), rule.lstrip("!").rstrip("/")) for rule in rules]


def in_context(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also matches a path's parents."""
    included = True
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for negated, pattern in dockerignore_patterns():
        if any(fnmatch(prefix, pattern) for prefix in prefixes):
            included = negated
    return included


def test_every_copied_path_is_in_the_build_context(stages):
    sources = []
    for stage in stages.values():
        for args in stage.args("COPY"):
            if "--from=" not in args:
                sources += [a for a in args.split()[:-1] if not a.startswith("--")]
    assert "airflow/dags/" in sources
    for source in sources:
        path = source.rstrip("/")
        # a directory left out by `*` still brings the paths re-included beneath it
        reincluded = [p for neg, p in dockerignore_patterns() if neg and p.startswith(path + "/")]
        assert in_context(path) or reincluded, source
        assert (REPO / source).exists(), source
    assert in_context("test/dags") and in_context("test/plugins")
    assert not in_context("test/docker") and not in_context("test/local")


def test_the_build_context_leaves_out_secrets_and_local_state():
    for path in (".env", ".venv", ".local", ".git", ".tox", "cloudformation", "test/e2e"):
        assert not in_context(path), path
    assert not in_context("airflow/dags/__pycache__")
    assert in_context("airflow/dags/config/sources.yml")
    assert in_context("dbt/models/marts/flights.sql")
    assert not in_context("dbt/target/manifest.json") and not in_context("dbt/logs/dbt.log")


def test_the_image_and_the_local_stack_give_what_both_set_one_value(stages, tmp_path):
    """The settings declared twice, in the image's ENV and in the local stack's environment
    (local/airflow_env.py), agree; only the folders differ, by where the code sits."""
    from local.airflow_env import airflow_env
    from local.settings import Settings

    (env,) = stages["app"].args("ENV")
    image = dict(re.findall(r"(\w+)=(\S+)", env))
    local = airflow_env(Settings.on_free_ports(tmp_path))
    folders = {"AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER"}
    both = (image.keys() & local.keys()) - folders
    assert both == image.keys() - folders, image.keys() - local.keys()
    assert {key: local[key] for key in both} == {key: image[key] for key in both}


def test_the_pinned_snowflake_connector_skips_its_platform_probe_as_the_image_asks(
    stages, monkeypatch
):
    from snowflake.connector.platform_detection import detect_platforms

    (env,) = stages["app"].args("ENV")
    value = dict(re.findall(r"(\w+)=(\S+)", env))["SNOWFLAKE_DISABLE_PLATFORM_DETECTION"]
    monkeypatch.setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", value)
    # the connector's answer when off; with the probe on it lists what it found (or nothing)
    assert detect_platforms(platform_detection_timeout_seconds=None) == ["disabled"]
