"""Everything `make deploy` needs, checked before anything is changed.

Each refusal says what is wrong, where it came from (flag or environment variable) and what is
allowed, so the person running the deploy can fix it without reading this code.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from deploy import templates
from deploy.dag_delivery import without_credentials

ENVIRONMENT_NAME = re.compile(r"[a-z][a-z0-9-]{1,20}")
REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
# <orgname>-<account_name> or a legacy locator such as xy12345.us-east-1
SNOWFLAKE_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_.-]+)?")
SNOWFLAKE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
IMAGE_URI = re.compile(r"[\w.-]+(:\d+)?/[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})")
SECRET_KEY_HEADERS = ("-----BEGIN PRIVATE KEY-----", "-----BEGIN ENCRYPTED PRIVATE KEY-----")

# Every deploy input: its flag (`--region`) and what it is, with its environment variable.
FLAGS = (
    ("region", "AWS region (AWS_REGION)"),
    ("environment-name", "prefix of every stack and name (DEPLOY_ENVIRONMENT_NAME, airflow)"),
    ("allowed-cidr", "the only network that reaches the UI (DEPLOY_ALLOWED_CIDR)"),
    ("certificate-arn", "ACM certificate for HTTPS (DEPLOY_CERTIFICATE_ARN)"),
    (
        "allow-plain-http",
        "true: no certificate, HTTP on the load balancer (DEPLOY_ALLOW_PLAIN_HTTP; default: as "
        "deployed, else false)",
    ),
    (
        "public-hostname",
        "the UI's host name, a CNAME of the load balancer on the certificate "
        "(DEPLOY_PUBLIC_HOSTNAME; default: as deployed)",
    ),
    ("image-uri", "use this image instead of building one (DEPLOY_IMAGE_URI)"),
    ("executor", "LocalExecutor or AwsEcsExecutor (DEPLOY_EXECUTOR; default: as deployed)"),
    (
        "dag-delivery",
        "image, s3-bundle or git-bundle (DEPLOY_DAG_DELIVERY; default: as deployed)",
    ),
    (
        "git-repo-url",
        "git-bundle: the repository's HTTPS URL, or its SSH URL (ssh://git@host/path or "
        "git@host:path, port 22), no credentials in it (DEPLOY_GIT_REPO_URL; default: as "
        "deployed)",
    ),
    (
        "git-ref",
        "git-bundle: a branch (followed) or a tag (pinned, for prod) (DEPLOY_GIT_REF; default: "
        "as deployed)",
    ),
    (
        "git-dags-subdir",
        "git-bundle: the DAG folder inside the repository (DEPLOY_GIT_DAGS_SUBDIR; default: as "
        "deployed, else airflow/dags)",
    ),
    (
        "git-refresh-interval",
        "git-bundle: seconds between fetches (DEPLOY_GIT_REFRESH_INTERVAL; default: as "
        "deployed, else 60)",
    ),
    (
        "git-connection-secret-arn",
        "git-bundle: Secrets Manager secret holding the connection of a private repository: a "
        'token over HTTPS, or an SSH private key in its extra, {"conn_type": "git", '
        '"extra": {"private_key": "<key>", "strict_host_key_checking": "yes"}} '
        "(DEPLOY_GIT_CONNECTION_SECRET_ARN; default: as deployed, else none)",
    ),
    (
        "git-ssh-known-hosts",
        "git-bundle over SSH: the git host's public key line(s), e.g. \"$(ssh-keyscan "
        'github.com)" checked against its published fingerprints (DEPLOY_GIT_SSH_KNOWN_HOSTS; '
        "default: as deployed)",
    ),
    (
        "alert-email",
        "email address subscribed to the pipeline alerts (DEPLOY_ALERT_EMAIL; default: as "
        "deployed, else none)",
    ),
    (
        "alerts-slack-secret-arn",
        "Secrets Manager secret holding a Slack webhook URL for the DAGs' failure alerts "
        "(DEPLOY_ALERTS_SLACK_SECRET_ARN; default: as deployed, else none)",
    ),
    (
        "enable-alarms",
        "true or false: the CloudWatch alarms (DEPLOY_ENABLE_ALARMS; default: the profile's, "
        "prod true, dev false)",
    ),
    ("snowflake-account", "SNOWFLAKE_ACCOUNT, e.g. myorg-myaccount"),
    ("snowflake-user", "SNOWFLAKE_USER (key-pair authentication)"),
    ("snowflake-private-key-file", "SNOWFLAKE_PRIVATE_KEY_FILE, PKCS#8 PEM"),
    ("snowflake-warehouse", "SNOWFLAKE_WAREHOUSE (etl_wh)"),
    ("snowflake-database", "SNOWFLAKE_DATABASE (raw)"),
    ("snowflake-role", "SNOWFLAKE_ROLE (etl)"),
    ("snowflake-iam-user-arn", "step 2: STORAGE_AWS_IAM_USER_ARN (SNOWFLAKE_IAM_USER_ARN)"),
    ("snowflake-external-id", "step 2: STORAGE_AWS_EXTERNAL_ID (SNOWFLAKE_EXTERNAL_ID)"),
)
# Inputs that choose an airflow stack parameter: (flag, variable, parameter). Allowed values are
# the template's AllowedValues; empty means the deployed stack's value (else the template default).
TEMPLATE_CHOICES = (
    ("executor", "DEPLOY_EXECUTOR", "Executor"),
    ("dag_delivery", "DEPLOY_DAG_DELIVERY", "DagDelivery"),
    ("allow_plain_http", "DEPLOY_ALLOW_PLAIN_HTTP", "AllowPlainHttp"),
    ("public_hostname", "DEPLOY_PUBLIC_HOSTNAME", "PublicHostname"),
    ("alert_email", "DEPLOY_ALERT_EMAIL", "AlertEmail"),
    ("alerts_slack_secret_arn", "DEPLOY_ALERTS_SLACK_SECRET_ARN", "AlertsSlackSecretArn"),
    ("git_repo_url", "DEPLOY_GIT_REPO_URL", "GitRepoUrl"),
    ("git_ref", "DEPLOY_GIT_REF", "GitRef"),
    ("git_dags_subdir", "DEPLOY_GIT_DAGS_SUBDIR", "GitDagsSubdir"),
    ("git_refresh_interval", "DEPLOY_GIT_REFRESH_INTERVAL", "GitRefreshInterval"),
    ("git_connection_secret_arn", "DEPLOY_GIT_CONNECTION_SECRET_ARN", "GitConnectionSecretArn"),
    ("git_ssh_known_hosts", "DEPLOY_GIT_SSH_KNOWN_HOSTS", "GitSshKnownHosts"),
)
# Like TEMPLATE_CHOICES, checked against the template, but empty means the profile's value.
PROFILE_CHOICES = (("enable_alarms", "DEPLOY_ENABLE_ALARMS", "EnableAlarms"),)


class InputError(ValueError):
    """A deploy input is missing or not allowed; the message says how to fix it."""


@dataclass(frozen=True)
class DeployInputs:
    profile: str
    region: str
    environment_name: str
    allowed_cidr: str
    snowflake_account: str
    snowflake_user: str
    snowflake_private_key: str  # PEM text, never printed
    snowflake_private_key_passphrase: str | None
    snowflake_warehouse: str
    snowflake_database: str
    snowflake_role: str
    image_uri: str | None = None
    certificate_arn: str = ""
    snowflake_iam_user_arn: str = ""
    snowflake_external_id: str = ""  # empty: the previous deploy's, else the placeholder
    executor: str = ""  # empty: the previous deploy's, else the template's default
    dag_delivery: str = ""  # the same
    allow_plain_http: str = ""  # the same
    public_hostname: str = ""  # the same
    alert_email: str = ""  # the same
    alerts_slack_secret_arn: str = ""  # the same
    git_repo_url: str = ""  # the same
    git_ref: str = ""  # the same
    git_dags_subdir: str = ""  # the same
    git_refresh_interval: str = ""  # the same
    git_connection_secret_arn: str = ""  # the same
    git_ssh_known_hosts: str = ""  # the same
    enable_alarms: str = ""  # empty: the profile's


def check_cidr(value: str, source: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise InputError(f"{source}: {value!r} is not a network in CIDR form ({error})") from None
    if network.version != 4:
        raise InputError(f"{source}: {value!r} is IPv6; give an IPv4 CIDR such as 203.0.113.7/32")
    if network.prefixlen < 8:
        raise InputError(
            f"{source}: {value!r} would open Airflow to (almost) the whole internet; "
            "give your own network, /8 to /32, e.g. your public IP with /32"
        )
    return str(network)


def check_private_key(path_text: str, source: str) -> str:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise InputError(f"{source}: no file at {path}; give the PEM private key of the user")
    text = path.read_text(errors="replace").strip()
    if not text.startswith(SECRET_KEY_HEADERS):
        raise InputError(
            f"{source}: {path} is not a PKCS#8 PEM private key (it must start with "
            f"{' or '.join(SECRET_KEY_HEADERS)}); create one with `openssl genrsa 2048 | "
            "openssl pkcs8 -topk8 -v2 des3 -inform PEM -out rsa_key.p8`"
        )
    return text + "\n"


def _pick(flags: dict[str, str | None], env: dict[str, str], flag: str, variable: str) -> tuple:
    value = flags.get(flag)
    if value:
        return value, f"--{flag.replace('_', '-')}"
    return env.get(variable, ""), f"environment variable {variable}"


def _required(value: str, source: str, what: str) -> str:
    if not value:
        raise InputError(f"{source} is missing: {what}")
    return value


def _shown(value: str) -> str:
    """A refused value as the message quotes it (a token pasted into GitRepoUrl never shown)."""
    return repr(without_credentials(value))


def _matching(value: str, pattern: re.Pattern, source: str, allowed: str) -> str:
    if not pattern.fullmatch(value):
        raise InputError(f"{source}: {_shown(value)} is not allowed; expected {allowed}")
    return value


def _allowed_choice(flags: dict, env: dict[str, str], flag: str, variable: str, spec: dict) -> str:
    """A value the template's parameter `spec` accepts: one of its AllowedValues or its
    AllowedPattern."""
    value, src = _pick(flags, env, flag, variable)
    if value and "AllowedValues" in spec and value not in spec["AllowedValues"]:
        allowed = ", ".join(spec["AllowedValues"])
        raise InputError(f"{src}: {_shown(value)} is not allowed; choose one of {allowed}")
    if value and "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        raise InputError(f"{src}: {_shown(value)} is not allowed ({spec['Description'].strip()})")
    if value and spec["Type"] == "Number":
        low, high = spec.get("MinValue", 0), spec.get("MaxValue", float("inf"))
        if not value.isdigit() or not low <= int(value) <= high:
            raise InputError(
                f"{src}: {_shown(value)} is not allowed; give a whole number {low}-{high}"
            )
    return value


def collect(flags: dict[str, str | None], env: dict[str, str] | None = None) -> DeployInputs:
    """Build and validate the inputs from command-line flags, then environment variables."""
    env = dict(os.environ if env is None else env)

    def pick(flag: str, variable: str):
        return _pick(flags, env, flag, variable)

    region, src = pick("region", "AWS_REGION")
    region = region or env.get("AWS_DEFAULT_REGION", "")
    _required(region, src, "the AWS region to deploy to, e.g. us-east-1")
    _matching(region, REGION, src, "an AWS region name such as us-east-1")

    name = collect_environment_name(flags.get("environment_name"), env)

    cidr, src = pick("allowed_cidr", "DEPLOY_ALLOWED_CIDR")
    _required(cidr, src, "the network allowed to reach the Airflow UI, e.g. 203.0.113.7/32")
    cidr = check_cidr(cidr, src)

    account, src = pick("snowflake_account", "SNOWFLAKE_ACCOUNT")
    _required(account, src, "your Snowflake account identifier, e.g. myorg-myaccount")
    _matching(account, SNOWFLAKE_ACCOUNT, src, "<orgname>-<account_name> or <locator>.<region>")

    user, src = pick("snowflake_user", "SNOWFLAKE_USER")
    _required(user, src, "the Snowflake user Airflow signs in as (key-pair authentication)")
    _matching(user, SNOWFLAKE_IDENTIFIER, src, "a Snowflake identifier, letters, digits, _ and $")

    key_path, src = pick("snowflake_private_key_file", "SNOWFLAKE_PRIVATE_KEY_FILE")
    _required(key_path, src, "the path of the user's PEM private key (key-pair authentication)")
    key = check_private_key(key_path, src)
    passphrase = env.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE") or None
    if "ENCRYPTED" in key.splitlines()[0] and not passphrase:
        raise InputError(
            f"{src}: the private key is encrypted; set SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"
        )

    names = {}
    for flag, variable, default in (
        ("snowflake_warehouse", "SNOWFLAKE_WAREHOUSE", "etl_wh"),
        ("snowflake_database", "SNOWFLAKE_DATABASE", "raw"),
        ("snowflake_role", "SNOWFLAKE_ROLE", "etl"),
    ):
        value, src = pick(flag, variable)
        names[flag] = _matching(
            value or default, SNOWFLAKE_IDENTIFIER, src, "a Snowflake identifier"
        )

    image, src = pick("image_uri", "DEPLOY_IMAGE_URI")
    if image:
        _matching(image, IMAGE_URI, src, "<registry>/<repository>:<tag> or @sha256:<digest>")

    parameters = templates.load("airflow")["Parameters"]  # read once: every choice checks it
    return DeployInputs(
        profile=flags.get("profile") or "prod",
        region=region,
        environment_name=name,
        allowed_cidr=cidr,
        snowflake_account=account,
        snowflake_user=user,
        snowflake_private_key=key,
        snowflake_private_key_passphrase=passphrase,
        image_uri=image or None,
        certificate_arn=pick("certificate_arn", "DEPLOY_CERTIFICATE_ARN")[0],
        snowflake_iam_user_arn=pick("snowflake_iam_user_arn", "SNOWFLAKE_IAM_USER_ARN")[0],
        snowflake_external_id=pick("snowflake_external_id", "SNOWFLAKE_EXTERNAL_ID")[0],
        **{
            flag: _allowed_choice(flags, env, flag, var, parameters[key])
            for flag, var, key in (*TEMPLATE_CHOICES, *PROFILE_CHOICES)
        },
        **names,
    )


def collect_environment_name(flag: str | None, env: dict[str, str] | None = None) -> str:
    """--environment-name, else DEPLOY_ENVIRONMENT_NAME, else `airflow`: the same for deploy and
    destroy, so `destroy --yes` never picks another environment than the one deployed."""
    env = dict(os.environ if env is None else env)
    variable = "DEPLOY_ENVIRONMENT_NAME"
    name, src = _pick({"environment_name": flag}, env, "environment_name", variable)
    return _matching(name or "airflow", ENVIRONMENT_NAME, src, "lower case, 2-21 chars, [a-z0-9-]")


def collect_region(flag: str | None, env: dict[str, str] | None = None) -> str:
    env = dict(os.environ if env is None else env)
    region = flag or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", "")
    source = "--region" if flag else "environment variable AWS_REGION"
    _required(region, source, "the AWS region, e.g. us-east-1")
    return _matching(region, REGION, source, "an AWS region name such as us-east-1")
