"""The deploy CLI refuses bad input with a message that names the input and what is allowed."""

from __future__ import annotations

import pytest

from deploy import inputs


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEPLOY_ALLOWED_CIDR", "0.0.0.0/0", "whole internet"),
        ("DEPLOY_ALLOWED_CIDR", "10.0.0.0/7", "whole internet"),
        ("DEPLOY_ALLOWED_CIDR", "10.0.0.1/8", "not a network"),  # host bits set
        ("DEPLOY_ALLOWED_CIDR", "2001:db8::/32", "IPv6"),
        ("DEPLOY_ALLOWED_CIDR", "", "DEPLOY_ALLOWED_CIDR is missing"),
        ("AWS_REGION", "mars-1", "AWS region"),
        ("SNOWFLAKE_ACCOUNT", "my account; drop", "SNOWFLAKE_ACCOUNT"),
        ("SNOWFLAKE_USER", "", "SNOWFLAKE_USER is missing"),
        ("SNOWFLAKE_USER", "x'; --", "Snowflake identifier"),
        ("SNOWFLAKE_PRIVATE_KEY_FILE", "/nonexistent/key.p8", "no file at /nonexistent/key.p8"),
        ("SNOWFLAKE_WAREHOUSE", "wh; drop table", "Snowflake identifier"),
        ("DEPLOY_IMAGE_URI", "not an image", "DEPLOY_IMAGE_URI"),
        ("DEPLOY_ALERT_EMAIL", "ops at example.com", "DEPLOY_ALERT_EMAIL"),
        ("DEPLOY_ALERTS_SLACK_SECRET_ARN", "https://hooks.slack.com/x", "SLACK_SECRET_ARN"),
        ("DEPLOY_ENABLE_ALARMS", "yes", "DEPLOY_ENABLE_ALARMS"),
    ],
)
def test_refusals(deploy_env, variable, value, message):
    env = {**deploy_env, variable: value}
    if variable == "AWS_REGION":
        env.pop("AWS_DEFAULT_REGION", None)
    with pytest.raises(inputs.InputError, match=message):
        inputs.collect({}, env)


def test_a_file_that_is_not_a_pem_key_is_refused(deploy_env, tmp_path):
    path = tmp_path / "key.pub"
    path.write_text("ssh-rsa AAAA... user@host\n")
    with pytest.raises(inputs.InputError, match="not a PKCS#8 PEM private key"):
        inputs.collect({}, {**deploy_env, "SNOWFLAKE_PRIVATE_KEY_FILE": str(path)})


def test_an_encrypted_key_needs_its_passphrase(deploy_env, tmp_path):
    path = tmp_path / "enc.p8"
    path.write_text(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    with pytest.raises(inputs.InputError, match="SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"):
        inputs.collect({}, {**deploy_env, "SNOWFLAKE_PRIVATE_KEY_FILE": str(path)})
    env = {**deploy_env, "SNOWFLAKE_PRIVATE_KEY_FILE": str(path)}
    env["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"] = "correct horse"  # noqa: S105 - test value
    assert inputs.collect({}, env).snowflake_private_key_passphrase == "correct horse"


def test_flags_win_over_environment(deploy_env):
    found = inputs.collect({"allowed_cidr": "198.51.100.0/24", "profile": "dev"}, deploy_env)
    assert found.allowed_cidr == "198.51.100.0/24"
    assert found.profile == "dev"
    assert found.environment_name == "airflow"
    assert (found.snowflake_warehouse, found.snowflake_database) == ("etl_wh", "raw")
    assert found.snowflake_private_key.startswith("-----BEGIN PRIVATE KEY-----")


GIT_SSH_ENV = {
    "DEPLOY_DAG_DELIVERY": "git-bundle",
    "DEPLOY_GIT_REPO_URL": "git@github.com:myorg/pipelines.git",
    "DEPLOY_GIT_REF": "v1.4.0",
}
KNOWN_HOSTS = (
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
)


def test_an_ssh_git_bundle_takes_the_host_keys_from_the_environment_or_the_flag(deploy_env):
    from deploy import cli

    env = {**deploy_env, **GIT_SSH_ENV, "DEPLOY_GIT_SSH_KNOWN_HOSTS": KNOWN_HOSTS}
    found = inputs.collect({}, env)
    assert found.git_repo_url == "git@github.com:myorg/pipelines.git"
    assert found.git_ssh_known_hosts == KNOWN_HOSTS
    flagged = KNOWN_HOSTS.replace("github.com", "git.example.com")
    args = cli.build_parser().parse_args(["deploy", "--git-ssh-known-hosts", flagged])
    assert inputs.collect(vars(args), env).git_ssh_known_hosts == flagged


@pytest.mark.parametrize(
    "value",
    [
        "github.com",  # no key
        "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",  # a fingerprint, not the key
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",  # the private key
    ],
)
def test_host_keys_that_are_not_known_hosts_lines_are_refused(deploy_env, value):
    env = {**deploy_env, **GIT_SSH_ENV, "DEPLOY_GIT_SSH_KNOWN_HOSTS": value}
    with pytest.raises(inputs.InputError) as refused:
        inputs.collect({}, env)
    assert str(refused.value).startswith("environment variable DEPLOY_GIT_SSH_KNOWN_HOSTS: ")
    assert "known_hosts" in str(refused.value)


def test_deploy_refuses_an_ssh_url_without_the_host_keys_before_changing_anything(deploy_env):
    """CloudFormation's Rules cannot look inside GitRepoUrl: `make deploy` refuses it instead,
    in the same check as the stack's Rules (before any secret, image or stack is touched)."""
    from deploy import orchestrate, templates

    template = templates.load("airflow")
    unpinned = inputs.collect({}, {**deploy_env, **GIT_SSH_ENV})
    with pytest.raises(inputs.InputError) as refused:
        orchestrate.check_rules(unpinned, template, "")
    said = str(refused.value)
    assert said.startswith("the airflow stack refuses these inputs: GitRepoUrl is an SSH URL")
    assert 'DEPLOY_GIT_SSH_KNOWN_HOSTS="$(ssh-keyscan <host>)"' in said
    env = {**deploy_env, **GIT_SSH_ENV, "DEPLOY_GIT_SSH_KNOWN_HOSTS": KNOWN_HOSTS}
    orchestrate.check_rules(inputs.collect({}, env), template, "")  # pinned
    https = {**GIT_SSH_ENV, "DEPLOY_GIT_REPO_URL": "https://github.com/myorg/pipelines.git"}
    orchestrate.check_rules(inputs.collect({}, {**deploy_env, **https}), template, "")
