"""DagDelivery=git-bundle on ECS: where the git connection goes (only where DAG code is read), who
may read its secret (only ECS, for those containers), and what the network allows (HTTPS, as
before: nothing is widened)."""

from __future__ import annotations

import re

import pytest

from deploy.dag_delivery import GIT_CONN_ID, GitSource
from deploy.templates import containers, secrets

GIT_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/git-AbCdEf"
GIT = {
    "DagDelivery": "git-bundle",
    "GitRepoUrl": "https://git.example.com/data/pipelines.git",
    "GitRef": "main",
}
CONNECTION_VARIABLE = f"AIRFLOW_CONN_{GIT_CONN_ID.upper()}"
# (profile, executor) -> the containers that read DAG code: the dag-processor parses it; the
# tasks run it, in the scheduler's task with LocalExecutor, in a worker task with the ECS executor
DAG_CODE_READERS = {
    ("prod", "LocalExecutor"): {"dag-processor", "scheduler"},
    ("prod", "AwsEcsExecutor"): {"dag-processor", "airflow-worker"},
    ("dev", "LocalExecutor"): {"dag-processor", "scheduler"},
    ("dev", "AwsEcsExecutor"): {"dag-processor", "airflow-worker"},
}


def holders(rendered) -> dict[str, set]:
    """Container name -> what it injects as the git connection (one entry per definition)."""
    found: dict[str, set] = {}
    for name, definitions in containers(rendered).items():
        for container in definitions:
            if CONNECTION_VARIABLE in secrets(container):
                found.setdefault(name, set()).add(secrets(container)[CONNECTION_VARIABLE])
    return found


def secret_readers(rendered) -> dict[str, list]:
    """Role -> the resources its secretsmanager:GetSecretValue statements name."""
    found: dict[str, list] = {}
    for role, resource in rendered.resources_of_type("AWS::IAM::Role").items():
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                granted = statement["Action"]
                granted = [granted] if isinstance(granted, str) else granted
                if any(a.startswith("secretsmanager:") for a in granted):
                    resources = statement["Resource"]
                    found.setdefault(role, []).extend(
                        resources if isinstance(resources, list) else [resources]
                    )
    return found


@pytest.mark.parametrize(("profile", "executor"), sorted(DAG_CODE_READERS))
def test_only_the_containers_that_read_dag_code_get_the_git_connection(render, profile, executor):
    rendered = render(
        "airflow", profile, Executor=executor, GitConnectionSecretArn=GIT_SECRET_ARN, **GIT
    )
    found = holders(rendered)
    assert set(found) == DAG_CODE_READERS[(profile, executor)]
    assert all(values == {GIT_SECRET_ARN} for values in found.values())  # the whole secret
    # the api-server, the triggerer and the migration never get it, in either layout
    assert not {"api-server", "triggerer", "db-migrate"} & set(found)


@pytest.mark.parametrize(
    "parameters",
    [
        {},  # image
        {"DagDelivery": "s3-bundle", "GitConnectionSecretArn": GIT_SECRET_ARN},
        GIT,  # a public repository: no secret given
    ],
)
def test_no_git_connection_without_a_git_bundle_and_its_secret(render, parameters):
    for executor in ("LocalExecutor", "AwsEcsExecutor"):
        rendered = render("airflow", "prod", Executor=executor, **parameters)
        assert holders(rendered) == {}
        assert GIT_SECRET_ARN not in str(rendered.resources)


@pytest.mark.parametrize("profile", ["prod", "dev"])
def test_only_the_execution_role_may_read_the_git_secret_and_only_that_secret(render, profile):
    """ECS injects the secret (execution role) into the containers above; no task role, so no
    process inside any task, may read it through the AWS API."""
    for executor in ("LocalExecutor", "AwsEcsExecutor"):
        without = secret_readers(render("airflow", profile, Executor=executor, **GIT))
        rendered = render(
            "airflow", profile, Executor=executor, GitConnectionSecretArn=GIT_SECRET_ARN, **GIT
        )
        found = secret_readers(rendered)
        assert found["TaskExecutionRole"] == [*without["TaskExecutionRole"], GIT_SECRET_ARN]
        for role, resources in found.items():
            assert role == "TaskExecutionRole" or GIT_SECRET_ARN not in resources, role
            assert "*" not in str(resources), role  # never a wildcard secret


def test_the_git_bundle_widens_no_security_group(render):
    """The git host is reached over HTTPS through the egress every component already has (443:
    Snowflake and the AWS APIs); nothing new is opened, and ssh (22) stays closed."""

    def groups(rendered):
        return {
            name: resource
            for name, resource in rendered.resources.items()
            if resource["Type"].startswith("AWS::EC2::SecurityGroup")
        }

    for profile in ("prod", "dev"):
        image = render("airflow", profile)
        git = render("airflow", profile, GitConnectionSecretArn=GIT_SECRET_ARN, **GIT)
        assert groups(git) == groups(image)
        egress = git.resources["ServiceSecurityGroup"]["Properties"]["SecurityGroupEgress"]
        assert ("tcp", 443, 443) in {(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in egress}
        assert not [r for r in egress if r["FromPort"] <= 22 <= r["ToPort"]]


def test_a_git_bundle_without_a_repository_or_ref_is_refused_by_the_stack(render):
    def broken(**parameters):
        return render("airflow", "prod", AllowPlainHttp="true", **parameters).broken_rules()

    assert broken(**GIT) == []
    (missing_url,) = broken(**{**GIT, "GitRepoUrl": ""})
    assert "needs GitRepoUrl" in missing_url
    assert "DEPLOY_GIT_REPO_URL" in missing_url
    (missing_ref,) = broken(**{**GIT, "GitRef": ""})
    assert "needs GitRef" in missing_ref
    assert "DEPLOY_GIT_REF" in missing_ref
    assert broken() == []  # image delivery needs neither


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://github.com/myorg/pipelines.git", True),
        ("https://git.example.com:8443/data/pipelines", True),
        ("https://x-access-token:ghp_abc@github.com/myorg/pipelines.git", False),
        ("https://ghp_abc@github.com/myorg/pipelines.git", False),
        ("http://github.com/myorg/pipelines.git", False),  # plain text on the wire
        ("git@github.com:myorg/pipelines.git", False),  # ssh: port 22 is not open
        ("ssh://git@github.com/myorg/pipelines.git", False),
        ("file:///srv/pipelines.git", False),
        ('https://github.com/myorg/p"], "x": ["y.git', False),  # would break the bundle JSON
        ("https://github.com/myorg/p\\.git", False),
    ],
)
def test_the_repository_url_is_https_without_credentials(raw, url, allowed):
    pattern = raw["airflow"]["Parameters"]["GitRepoUrl"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, url)) is allowed
    if allowed:
        GitSource(url, "main")  # the renderer accepts what the stack accepts


@pytest.mark.parametrize(
    ("parameter", "good", "bad"),
    [
        ("GitRef", ["main", "v1.4.0", "release/2026-12"], ["main; rm -rf /", "-x", "a b"]),
        ("GitDagsSubdir", ["airflow/dags", "dags"], ["/etc", "airflow/dags/", "a b"]),
    ],
)
def test_git_parameters_accept_what_they_describe(raw, parameter, good, bad):
    pattern = raw["airflow"]["Parameters"][parameter]["AllowedPattern"]
    assert all(re.fullmatch(pattern, value) for value in good)
    assert not any(re.fullmatch(pattern, value) for value in bad)
