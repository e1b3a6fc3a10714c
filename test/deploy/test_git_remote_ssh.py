"""`make deploy` with a git bundle over SSH checks the repository before changing anything as
the dag-processor will read it: the connection's private key, the git host's key pinned from
DEPLOY_GIT_SSH_KNOWN_HOSTS (never trusted on first use). Real git and ssh against the project's
SSH git host stand-in (local/git_server.py) on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from deploy import git_remote, inputs
from deploy.dag_delivery import DAGS_SUBDIR, GitSource
from local import git_repo, git_server
from local.settings import REPO, free_port
from test.deploy.test_git_remote import deploy, nothing_changed
from test.local.test_git_server import OTHER_HOST_KEY


@pytest.fixture
def ssh_host(tmp_path):
    private_key, public_key = git_server.new_key_pair()
    root = tmp_path / "repos"
    bare = git_server.seed(root, REPO / DAGS_SUBDIR)
    git_repo.git(bare, "tag", "v1.0", "main")
    port = free_port()
    host_key, known_hosts = git_server.ensure_host_key(tmp_path / "keys", ("127.0.0.1",), port)
    with git_server.ssh_server_thread("127.0.0.1", port, root, public_key, host_key):
        yield {
            "url": f"ssh://git@127.0.0.1:{port}/{git_server.REPOSITORY}",
            "port": port,
            "head": git_repo.head(bare),
            "key": git_remote.SshKey(private_key),
            "known_hosts": known_hosts.read_text(),
        }


def test_ssh_urls_are_told_from_https_ones():
    ssh = ["ssh://git@github.com/org/repo.git", "git@github.com:org/repo.git", "git+ssh://h/r"]
    assert all(git_remote.is_ssh_url(url) for url in ssh)
    other = ["https://github.com/org/repo.git", "file:///tmp/r", "/tmp/r", "https://a@b/c"]
    assert not any(git_remote.is_ssh_url(url) for url in other)


def test_a_branch_and_a_tag_are_found_with_the_key_and_the_pinned_host_key(ssh_host):
    found = git_remote.check(
        GitSource(ssh_host["url"], "main"), ssh_host["key"], ssh_host["known_hosts"]
    )
    assert found == git_remote.FoundRef(kind="branch", commit=ssh_host["head"])
    tag = git_remote.check(
        GitSource(ssh_host["url"], "v1.0"), ssh_host["key"], ssh_host["known_hosts"]
    )
    assert tag == git_remote.FoundRef(kind="tag", commit=ssh_host["head"])


def test_without_the_host_key_the_url_is_refused_before_any_connection(ssh_host):
    with pytest.raises(inputs.InputError) as refused:
        git_remote.check(GitSource(ssh_host["url"], "main"), ssh_host["key"], "")
    said = str(refused.value)
    assert said.startswith("DEPLOY_GIT_SSH_KNOWN_HOSTS (--git-ssh-known-hosts): ")
    assert 'DEPLOY_GIT_SSH_KNOWN_HOSTS="$(ssh-keyscan <host>)"' in said


def test_a_host_presenting_another_key_is_refused_naming_the_known_hosts_input(ssh_host):
    other = f"[127.0.0.1]:{ssh_host['port']} {OTHER_HOST_KEY}"
    with pytest.raises(inputs.InputError) as refused:
        git_remote.check(GitSource(ssh_host["url"], "main"), ssh_host["key"], other)
    said = str(refused.value)
    assert "Host key verification failed" in said
    assert said.endswith(
        "check DEPLOY_GIT_SSH_KNOWN_HOSTS (--git-ssh-known-hosts): it must hold this host's "
        "public key (ssh-keyscan prints it; compare its fingerprint with the one the git host "
        "publishes)"
    )


def test_a_key_the_host_does_not_know_is_refused_and_never_shown(ssh_host):
    stranger = git_remote.SshKey(git_server.new_key_pair()[0])
    with pytest.raises(inputs.InputError) as refused:
        git_remote.check(GitSource(ssh_host["url"], "main"), stranger, ssh_host["known_hosts"])
    said = str(refused.value)
    assert "Permission denied (publickey)" in said
    assert "check the key in the secret" in said
    body = stranger.private_key.splitlines()[1]
    assert body not in said and body not in repr(stranger)


def test_the_connection_secret_gives_the_private_key_from_its_extra(aws, ssh_host):
    private_key = ssh_host["key"].private_key
    extras = ({"private_key": private_key}, json.dumps({"private_key": private_key}))
    for number, extra in enumerate(extras):  # the extra as an object, or as JSON text
        arn = aws.secretsmanager.create_secret(
            Name=f"airflow/git-{number}",
            SecretString=json.dumps({"conn_type": "git", "extra": extra}),
        )["ARN"]
        key = git_remote.connection_credentials(aws.secretsmanager, arn, ssh=True)
        assert key == git_remote.SshKey(private_key)
        assert git_remote.check(GitSource(ssh_host["url"], "main"), key, ssh_host["known_hosts"])


def test_a_secret_without_a_private_key_is_refused_for_an_ssh_url(aws):
    token_only = {"conn_type": "git", "login": "x", "password": "a-token-0123"}
    arn = aws.secretsmanager.create_secret(Name="airflow/git", SecretString=json.dumps(token_only))
    with pytest.raises(inputs.InputError) as refused:
        git_remote.connection_credentials(aws.secretsmanager, arn["ARN"], ssh=True)
    said = str(refused.value)
    assert said.startswith("DEPLOY_GIT_CONNECTION_SECRET_ARN (--git-connection-secret-arn): ")
    assert '"extra": {"private_key": "<key>", "strict_host_key_checking": "yes"}' in said
    assert "a-token-0123" not in said


# --- make deploy -------------------------------------------------------------------------------
SSH_URL = "ssh://git@git.example.test/pipelines.git"


@pytest.fixture
def ssh_url_answered(ssh_host, tmp_path, monkeypatch):
    """SSH_URL answered by the stand-in on 127.0.0.1 through git's own URL rewriting (a user
    config): the URL the stack gets names a host, port 22, as a user's would."""
    config = tmp_path / "gitconfig"
    config.write_text(f'[url "{ssh_host["url"]}"]\n\tinsteadOf = {SSH_URL}\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    return ssh_host


def test_deploy_checks_an_ssh_repository_then_passes_the_pinned_host_key_to_the_stack(
    aws, stand_in_templates, deploy_env, ssh_url_answered
):
    host = ssh_url_answered
    connection = {"conn_type": "git", "extra": {"private_key": host["key"].private_key}}
    arn = aws.secretsmanager.create_secret(Name="airflow/git", SecretString=json.dumps(connection))[
        "ARN"
    ]
    git_env = {
        "DEPLOY_DAG_DELIVERY": "git-bundle",
        "DEPLOY_GIT_REPO_URL": SSH_URL,
        "DEPLOY_GIT_REF": "main",
        "DEPLOY_GIT_CONNECTION_SECRET_ARN": arn,
    }
    with pytest.raises(inputs.InputError, match="DEPLOY_GIT_SSH_KNOWN_HOSTS"):
        deploy(aws, deploy_env, **git_env)
    nothing_changed(aws)

    said = deploy(aws, deploy_env, DEPLOY_GIT_SSH_KNOWN_HOSTS=host["known_hosts"], **git_env)
    assert f"git bundle: {SSH_URL} branch main at {host['head'][:12]}" in said
    assert said.index("git bundle:") < said.index("==> secrets")  # before anything changed
    (stack,) = aws.cloudformation.describe_stacks(StackName="airflow-airflow")["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["GitRepoUrl"] == SSH_URL
    assert parameters["GitSshKnownHosts"] == host["known_hosts"]


def test_deploy_refuses_a_host_key_that_is_not_the_hosts_before_changing_anything(
    aws, stand_in_templates, deploy_env, ssh_url_answered
):
    connection = {"conn_type": "git", "extra": {"private_key": ssh_url_answered["key"].private_key}}
    arn = aws.secretsmanager.create_secret(Name="airflow/git", SecretString=json.dumps(connection))[
        "ARN"
    ]
    with pytest.raises(inputs.InputError) as refused:
        deploy(
            aws,
            deploy_env,
            DEPLOY_DAG_DELIVERY="git-bundle",
            DEPLOY_GIT_REPO_URL=SSH_URL,
            DEPLOY_GIT_REF="main",
            DEPLOY_GIT_CONNECTION_SECRET_ARN=arn,
            DEPLOY_GIT_SSH_KNOWN_HOSTS=f"[127.0.0.1]:{ssh_url_answered['port']} {OTHER_HOST_KEY}",
        )
    assert "Host key verification failed" in str(refused.value)
    nothing_changed(aws)
