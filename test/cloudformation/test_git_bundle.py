"""DagDelivery=git-bundle on ECS: where the git connection goes (only where DAG code is read), who
may read its secret (only ECS, for those containers), and what the network allows (over HTTPS,
nothing is widened; over SSH, port 22 for the tasks that read DAG code alone, with the git host's
key pinned)."""

from __future__ import annotations

import re

import pytest

from deploy.dag_delivery import GIT_CONN_ID, GitSource
from deploy.templates import containers, secrets
from deploy.templates import environment as env

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


def holders(rendered, variable=CONNECTION_VARIABLE, read=secrets) -> dict[str, set]:
    """Container name -> what it injects as the git connection (one entry per definition), or
    what it sets `variable` to among what `read` finds (its secrets, or its environment)."""
    found: dict[str, set] = {}
    for name, definitions in containers(rendered).items():
        for container in definitions:
            if variable in read(container):
                found.setdefault(name, set()).add(read(container)[variable])
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
        ("git@github.com:myorg/pipelines.git", True),  # ssh, scp-like
        ("ssh://git@github.com/myorg/pipelines.git", True),
        ("ssh://git.example.com/data/pipelines", True),  # the user from the ssh config
        ("ssh://git:hunter2@github.com/myorg/pipelines.git", False),  # a password
        ("ssh://git@github.com:2222/myorg/pipelines.git", False),  # ssh is port 22 only
        ("github.com:myorg/pipelines.git", False),  # scp-like needs its user
        ("-oProxyCommand=x@github.com:myorg/pipelines.git", False),  # reads as an ssh option
        ("git@-oProxyCommand=x:myorg/pipelines.git", False),
        ('git@github.com:myorg/p"], "x": ["y.git', False),  # would break the bundle JSON
        ("git@github.com:myorg/p\\.git", False),
        ("git+ssh://git@github.com/myorg/pipelines.git", False),
        ("file:///srv/pipelines.git", False),
        ('https://github.com/myorg/p"], "x": ["y.git', False),  # would break the bundle JSON
        ("https://github.com/myorg/p\\.git", False),
    ],
)
def test_the_repository_url_is_https_or_ssh_without_credentials(raw, url, allowed):
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


# --- Over SSH -------------------------------------------------------------------------------------
# github.com's published host keys, as `ssh-keyscan github.com` prints them (public, not secret)
KNOWN_HOSTS = (
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENj"
    "QEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=\n"
)
SSH = {**GIT, "GitRepoUrl": "git@github.com:myorg/pipelines.git", "GitSshKnownHosts": KNOWN_HOSTS}
KNOWN_HOSTS_VARIABLE = "GIT_SSH_KNOWN_HOSTS"
EXECUTOR_GROUPS = "AIRFLOW__AWS_ECS_EXECUTOR__SECURITY_GROUPS"
# (profile, executor) -> the services whose tasks read DAG code (the workers are the executor's)
DAG_CODE_SERVICES = {
    ("prod", "LocalExecutor"): {"SchedulerService", "DagProcessorService"},
    ("prod", "AwsEcsExecutor"): {"DagProcessorService"},
    ("dev", "LocalExecutor"): {"CombinedService"},  # one task, one ENI, all four components
    ("dev", "AwsEcsExecutor"): {"CombinedService"},
}


def known_hosts_holders(rendered) -> dict[str, set]:
    """Container name -> the GIT_SSH_KNOWN_HOSTS values it is given (one per definition)."""
    return holders(rendered, KNOWN_HOSTS_VARIABLE, env)


def group_names(value) -> list[str]:
    """The logical ids of a list of security groups, or of the executor's comma-separated one."""
    if isinstance(value, list):
        return [name for item in value for name in group_names(item)]
    if set(value) == {"Ref"}:
        return [value["Ref"]]
    (text,) = value.values()  # {"Fn::Sub": "${A},${B}"}: what the executor splits on ","
    return [re.fullmatch(r"\$\{(\w+)\}", part).group(1) for part in text.split(",")]


def service_groups(rendered) -> dict[str, list[str]]:
    return {
        name: group_names(
            service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        )
        for name, service in rendered.resources_of_type("AWS::ECS::Service").items()
    }


def worker_groups(rendered) -> set[tuple[str, ...]]:
    """The groups the ECS executor gives its workers, as every container that configures it says."""
    return {
        tuple(group_names(env(container)[EXECUTOR_GROUPS]))
        for found in containers(rendered).values()
        for container in found
        if EXECUTOR_GROUPS in env(container)
    }


@pytest.mark.parametrize(("profile", "executor"), sorted(DAG_CODE_READERS))
def test_over_https_no_port_22_and_no_host_keys(render, profile, executor):
    """Known hosts given with an HTTPS URL change nothing: the SSH parts follow the URL."""
    https = render(
        "airflow", profile, Executor=executor, GitConnectionSecretArn=GIT_SECRET_ARN, **GIT
    )
    given = render(
        "airflow", profile, Executor=executor, **{**SSH, "GitRepoUrl": GIT["GitRepoUrl"]}
    )
    for rendered in (https, given):
        assert not rendered.conditions["GitOverSsh"]
        assert "GitSshSecurityGroup" not in rendered.resources
        assert known_hosts_holders(rendered) == {}
        assert set(map(tuple, service_groups(rendered).values())) == {("ServiceSecurityGroup",)}
        expected = {("ServiceSecurityGroup",)} if executor == "AwsEcsExecutor" else set()
        assert worker_groups(rendered) == expected


@pytest.mark.parametrize("url", [SSH["GitRepoUrl"], "ssh://git@github.com/myorg/pipelines.git"])
@pytest.mark.parametrize(("profile", "executor"), sorted(DAG_CODE_READERS))
def test_over_ssh_the_host_keys_go_exactly_where_the_connection_goes(
    render, profile, executor, url
):
    rendered = render(
        "airflow",
        profile,
        Executor=executor,
        GitConnectionSecretArn=GIT_SECRET_ARN,
        **{**SSH, "GitRepoUrl": url},
    )
    assert rendered.conditions["GitOverSsh"]
    found = known_hosts_holders(rendered)
    assert set(found) == set(holders(rendered)) == DAG_CODE_READERS[(profile, executor)]
    assert all(values == {KNOWN_HOSTS} for values in found.values())  # every line, as given
    # without a connection secret (a key from elsewhere), the same containers verify the host
    public = render("airflow", profile, Executor=executor, **{**SSH, "GitRepoUrl": url})
    assert holders(public) == {}
    assert set(known_hosts_holders(public)) == DAG_CODE_READERS[(profile, executor)]


@pytest.mark.parametrize(("profile", "executor"), sorted(DAG_CODE_SERVICES))
def test_only_the_tasks_that_read_dag_code_get_port_22(render, profile, executor):
    rendered = render("airflow", profile, Executor=executor, **SSH)
    groups = service_groups(rendered)
    with_ssh = {name for name, found in groups.items() if "GitSshSecurityGroup" in found}
    assert with_ssh == DAG_CODE_SERVICES[(profile, executor)]
    assert all(found[0] == "ServiceSecurityGroup" for found in groups.values())  # kept, first
    assert all(len(found) == len(set(found)) <= 2 for found in groups.values())
    # the api-server and the triggerer have services of their own in the split layout: not theirs
    assert not {"ApiServerService", "TriggererService"} & with_ssh
    if executor == "AwsEcsExecutor":
        assert worker_groups(rendered) == {("ServiceSecurityGroup", "GitSshSecurityGroup")}
    else:
        assert worker_groups(rendered) == set()


def test_the_ssh_group_allows_port_22_out_and_nothing_else(render):
    rendered = render("airflow", "prod", **SSH)
    group = rendered.resources["GitSshSecurityGroup"]["Properties"]
    (egress,) = group["SecurityGroupEgress"]  # replaces the default allow-all egress
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 22, 22)
    assert egress["CidrIp"] == "0.0.0.0/0"
    assert "SecurityGroupIngress" not in group
    assert group["VpcId"] == rendered.resources["ServiceSecurityGroup"]["Properties"]["VpcId"]
    assert "22" in group["GroupDescription"]
    # no rule elsewhere adds to it
    rules = [
        resource["Properties"]
        for resource in rendered.resources.values()
        if resource["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")
    ]
    assert rules
    assert not [r for r in rules if "GitSshSecurityGroup" in str(r)]
    # and the components' own group still has no port 22
    service = rendered.resources["ServiceSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert not [r for r in service if r["FromPort"] <= 22 <= r["ToPort"]]


@pytest.mark.parametrize("url", [SSH["GitRepoUrl"], "ssh://git.example.com/data/pipelines"])
def test_an_ssh_url_without_the_host_keys_is_refused(render, url):
    def broken(**parameters):
        return render("airflow", "prod", AllowPlainHttp="true", **parameters).broken_rules()

    (refused,) = broken(**{**SSH, "GitRepoUrl": url, "GitSshKnownHosts": ""})
    assert refused.startswith("GitRepoUrl is an SSH URL: GitSshKnownHosts needs")
    assert "ssh-keyscan <host>" in refused
    assert "DEPLOY_GIT_SSH_KNOWN_HOSTS" in refused
    assert broken(**{**SSH, "GitRepoUrl": url}) == []  # pinned
    assert broken(**GIT) == []  # HTTPS pins nothing
    # an SSH URL left over from a git bundle no longer used asks for nothing
    for delivery in ("image", "s3-bundle"):
        assert broken(**{**SSH, "GitSshKnownHosts": "", "DagDelivery": delivery}) == []


@pytest.mark.parametrize(
    ("known_hosts", "allowed"),
    [
        (KNOWN_HOSTS, True),
        (KNOWN_HOSTS.rstrip("\n"), True),
        ("[git.example.com]:22,192.0.2.7 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== ops@git\n", True),
        ("|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 AAAAC3Nz", True),
        ("# github.com:22 SSH-2.0-babeld\n" + KNOWN_HOSTS, True),  # ssh-keyscan's comments
        ("@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA", True),
        ("github.com", False),  # a host, no key
        ("SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU", False),  # a fingerprint
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", False),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", False),  # a key!
        ("github.com ssh-ed25519 AAAA$(reboot)", False),
    ],
)
def test_known_hosts_are_host_key_lines(raw, known_hosts, allowed):
    pattern = raw["airflow"]["Parameters"]["GitSshKnownHosts"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, known_hosts)) is allowed
