"""`make deploy` with DagDelivery=git-bundle checks, before changing anything, that the repository
answers and has the branch or tag, with the token from the connection secret when one is given.

Real git on real local repositories (file:// URLs; an https URL is mapped onto one by git's own
`url.<base>.insteadOf`), and a moto server for the secret and the stacks: no mocks for git.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from deploy import git_remote, inputs, orchestrate
from deploy.dag_delivery import GitSource
from local.git_repo import commit_files, git, head

HTTPS_URL = "https://git.example.test/data/pipelines.git"
MISSING_URL = "https://git.example.test/data/missing.git"  # a path with no repository
TOKEN = "ghp_never_printed_0123456789"  # noqa: S105 - a test's stand-in token


@pytest.fixture
def repository(tmp_path):
    """A repository with a branch main (two commits), a lightweight tag v1.0 on the first and an
    annotated tag v1.1 on the second."""
    path = tmp_path / "pipelines"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    first = commit_files(path, {"airflow/dags/a.py": "# dag a\n"}, "a")
    git(path, "tag", "v1.0")
    second = commit_files(path, {"airflow/dags/b.py": "# dag b\n"}, "b")
    git(path, "tag", "--annotate", "v1.1", "--message", "release 1.1")
    return {"path": path, "url": path.as_uri(), "first": first, "second": second}


def test_a_branch_is_found_at_its_head(repository):
    found = git_remote.check(GitSource(repository["url"], "main"))
    assert found == git_remote.FoundRef(kind="branch", commit=repository["second"])


def test_a_tag_is_found_at_its_commit_lightweight_or_annotated(repository):
    lightweight = git_remote.check(GitSource(repository["url"], "v1.0"))
    assert lightweight == git_remote.FoundRef(kind="tag", commit=repository["first"])
    annotated = git_remote.check(GitSource(repository["url"], "v1.1"))
    # the commit the tag points at, not the tag object
    assert annotated == git_remote.FoundRef(kind="tag", commit=repository["second"])
    assert head(repository["path"], "v1.1^{commit}") == repository["second"]


def test_a_missing_ref_is_refused_naming_the_input_and_the_refs_there_are(repository):
    with pytest.raises(inputs.InputError) as refused:
        git_remote.check(GitSource(repository["url"], "v2.0"))
    said = str(refused.value)
    assert said.startswith("DEPLOY_GIT_REF (--git-ref): ")
    assert "has no branch or tag 'v2.0'" in said
    assert "(main, v1.0, v1.1)" in said


def test_an_unreachable_repository_is_refused_naming_the_input_and_the_fix(tmp_path):
    url = (tmp_path / "nowhere.git").as_uri()
    with pytest.raises(inputs.InputError) as refused:
        git_remote.check(GitSource(url, "main"))
    said = str(refused.value)
    assert said.startswith(f"DEPLOY_GIT_REPO_URL (--git-repo-url): git cannot read {url} (")
    assert "does not appear to be a git repository" in said
    assert "set DEPLOY_GIT_CONNECTION_SECRET_ARN" in said


def test_refused_with_a_token_the_message_never_holds_it(tmp_path):
    credentials = git_remote.Credentials(login="x-access-token", token=TOKEN)
    with pytest.raises(inputs.InputError) as refused:
        git_remote.check(GitSource((tmp_path / "nowhere.git").as_uri(), "main"), credentials)
    assert "check the token in the secret" in str(refused.value)
    assert TOKEN not in str(refused.value)
    assert TOKEN not in repr(credentials)


def test_git_gets_the_token_from_the_helper_never_from_its_arguments():
    """Real git asks the configured helper: what `git credential fill` answers is what an HTTPS
    fetch would send. The token is in the environment of git alone, not in any argument."""
    credentials = git_remote.Credentials(login="x-access-token", token=TOKEN)
    env = git_remote.git_environment(credentials)
    answer = subprocess.run(
        ["git", "credential", "fill"],  # noqa: S607
        input="protocol=https\nhost=git.example.test\n\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"username=x-access-token\npassword={TOKEN}\n" in answer
    assert TOKEN not in " ".join(v for k, v in env.items() if k.startswith("GIT_CONFIG_"))
    assert env["GIT_TERMINAL_PROMPT"] == "0"  # never waits on a prompt
    assert "DEPLOY_GIT_CHECK_TOKEN" not in git_remote.git_environment(None)


def test_the_connection_secret_gives_the_login_and_token(aws):
    arn = aws.secretsmanager.create_secret(
        Name="airflow/git",
        SecretString=json.dumps({"conn_type": "git", "login": "ci-bot", "password": TOKEN}),
    )["ARN"]
    assert git_remote.connection_credentials(aws.secretsmanager, arn) == git_remote.Credentials(
        login="ci-bot", token=TOKEN
    )


@pytest.mark.parametrize(
    "value",
    [f"https://ci:{TOKEN}@git.example.test/x.git", json.dumps({"conn_type": "git", "login": "x"})],
)
def test_a_secret_that_is_not_a_connection_with_a_token_is_refused_without_its_value(aws, value):
    arn = aws.secretsmanager.create_secret(Name="airflow/git", SecretString=value)["ARN"]
    with pytest.raises(inputs.InputError) as refused:
        git_remote.connection_credentials(aws.secretsmanager, arn)
    said = str(refused.value)
    assert said.startswith("DEPLOY_GIT_CONNECTION_SECRET_ARN (--git-connection-secret-arn): ")
    assert '{"conn_type": "git", "login": "x-access-token", "password": "<token>"}' in said
    assert TOKEN not in said


def test_a_secret_that_cannot_be_read_is_refused(aws):
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/none-AbCdEf"
    with pytest.raises(inputs.InputError, match="the secret cannot be read"):
        git_remote.connection_credentials(aws.secretsmanager, missing)


# --- make deploy -------------------------------------------------------------------------------


@pytest.fixture
def https_repository(repository, tmp_path, monkeypatch):
    """HTTPS_URL answered by `repository`, MISSING_URL by an empty path, through git's own URL
    rewriting (a user config): nothing leaves this machine, not even a DNS query."""
    config = tmp_path / "gitconfig"
    config.write_text(
        f'[url "{repository["url"]}"]\n\tinsteadOf = {HTTPS_URL}\n'
        f'[url "{(tmp_path / "missing.git").as_uri()}"]\n\tinsteadOf = {MISSING_URL}\n'
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    return repository


def deploy(aws, deploy_env, **env):
    said = []
    collected = inputs.collect({"profile": "prod"}, {**deploy_env, **env})
    orchestrate.deploy(collected, aws, say=said.append, docker=False, migrate=lambda *_: None)
    return "\n".join(said)


def nothing_changed(aws):
    assert aws.cloudformation.list_stacks()["StackSummaries"] == []
    names = {s["Name"] for s in aws.secretsmanager.list_secrets()["SecretList"]}
    assert not [name for name in names if name != "airflow/git"]  # only the test's own
    assert aws.ssm.describe_parameters()["Parameters"] == []


GIT_ENV = {
    "DEPLOY_DAG_DELIVERY": "git-bundle",
    "DEPLOY_GIT_REPO_URL": HTTPS_URL,
    "DEPLOY_GIT_REF": "v1.1",
}


def test_deploy_checks_the_tag_then_passes_the_repository_to_the_stack(
    aws, stand_in_templates, deploy_env, https_repository
):
    arn = aws.secretsmanager.create_secret(
        Name="airflow/git",
        SecretString=json.dumps({"conn_type": "git", "login": "ci-bot", "password": TOKEN}),
    )["ARN"]
    said = deploy(aws, deploy_env, DEPLOY_GIT_CONNECTION_SECRET_ARN=arn, **GIT_ENV)
    commit = https_repository["second"]
    assert f"git bundle: {HTTPS_URL} tag v1.1 at {commit[:12]}" in said
    assert said.index("git bundle:") < said.index("==> secrets")  # before anything changed
    assert TOKEN not in said
    (stack,) = aws.cloudformation.describe_stacks(StackName="airflow-airflow")["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert {
        key: parameters[key]
        for key in parameters
        if key.startswith(("Git", "DagDelivery", "DagBundle"))
    } == {
        "DagDelivery": "git-bundle",
        "DagBundlePrefix": "dags/",
        "GitRepoUrl": HTTPS_URL,
        "GitRef": "v1.1",
        "GitDagsSubdir": "airflow/dags",
        "GitRefreshInterval": "60",
        "GitConnectionSecretArn": arn,
        "GitSshKnownHosts": "",  # HTTPS: no host key to pin
    }

    # a redeploy that names nothing keeps the repository and checks it again (a branch now)
    said = deploy(aws, deploy_env, DEPLOY_GIT_REF="main")
    assert f"git bundle: {HTTPS_URL} branch main at {commit[:12]}" in said
    assert "GitRepoUrl: kept from the previous deploy" in said


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"DEPLOY_GIT_REF": "v2.0"}, "DEPLOY_GIT_REF (--git-ref): "),
        (
            {"DEPLOY_GIT_REPO_URL": MISSING_URL},
            f"DEPLOY_GIT_REPO_URL (--git-repo-url): git cannot read {MISSING_URL} (",
        ),
        ({"DEPLOY_GIT_REF": ""}, "needs GitRef, a branch or a tag"),
        ({"DEPLOY_GIT_REPO_URL": ""}, "needs GitRepoUrl"),
    ],
)
def test_deploy_refuses_an_unreachable_repository_or_ref_before_changing_anything(
    aws, stand_in_templates, deploy_env, https_repository, env, said
):
    with pytest.raises(inputs.InputError) as refused:
        deploy(aws, deploy_env, **{**GIT_ENV, **env})
    assert said in str(refused.value)
    nothing_changed(aws)


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DEPLOY_GIT_REPO_URL", f"https://ci:{TOKEN}@git.example.test/x.git", "without"),
        ("DEPLOY_GIT_REPO_URL", "ssh://git@github.com:2222/myorg/pipelines.git", "port 22"),
        ("DEPLOY_GIT_REFRESH_INTERVAL", "-5", "a whole number 0-86400"),
        ("DEPLOY_GIT_DAGS_SUBDIR", "/etc", "inside the repository"),
    ],
)
def test_inputs_the_stack_would_refuse_are_refused_first(deploy_env, variable, value, said):
    with pytest.raises(inputs.InputError) as refused:
        inputs.collect({}, {**deploy_env, **GIT_ENV, variable: value})
    assert str(refused.value).startswith(f"environment variable {variable}: ")
    assert said in str(refused.value)
    assert TOKEN not in str(refused.value)  # a refused URL is quoted without its credentials
