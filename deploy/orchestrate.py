"""`make deploy` and `make destroy`: the steps, in order, each idempotent.

Prerequisites and inputs are checked first (inputs.collect, check_prerequisites) so that a refusal
never leaves anything half-changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploy import (
    airflow_secrets,
    dag_bundle,
    git_remote,
    image,
    profiles,
    stacks,
    stage_bucket,
    templates,
)
from deploy.inputs import PROFILE_CHOICES, TEMPLATE_CHOICES, DeployInputs, InputError
from deploy.migration import run_migration

Say = Callable[[str], None]


@dataclass
class Clients:
    """boto3 clients of one region (tests point them at a moto server)."""

    sts: Any
    cloudformation: Any
    secretsmanager: Any
    ssm: Any
    ecr: Any
    ecs: Any
    ec2: Any
    s3: Any
    sqs: Any
    sns: Any

    @classmethod
    def create(cls, session: Any, endpoint_url: str | None = None) -> Clients:
        def client(service: str) -> Any:
            return session.client(service, endpoint_url=endpoint_url)

        names = (
            "sts",
            "cloudformation",
            "secretsmanager",
            "ssm",
            "ecr",
            "ecs",
            "ec2",
            "s3",
            "sqs",
            "sns",
        )
        return cls(**{name: client(name) for name in names})


def check_prerequisites(inputs: DeployInputs, clients: Clients, docker: bool) -> str:
    """Credentials work, and the image can be had. Returns the AWS account id."""
    if inputs.profile not in profiles.PROFILES:
        raise InputError(f"--profile {inputs.profile!r}: choose one of {sorted(profiles.PROFILES)}")
    try:
        account = clients.sts.get_caller_identity()["Account"]
    except Exception as error:  # noqa: BLE001 - any failure here means the same thing
        raise InputError(
            f"AWS credentials do not work ({type(error).__name__}: {error}); configure them with "
            "`aws configure` or AWS_PROFILE, then run make deploy again"
        ) from None
    if not inputs.image_uri and not docker:
        raise InputError(
            "Docker is not available to build the image: install Docker, or build and push the "
            "image yourself and pass --image-uri <registry>/<repository>:<tag>"
        )
    return account


def network_parameters(inputs: DeployInputs) -> dict:
    return {
        **profiles.overrides(inputs.profile, "network"),
        "EnvironmentName": inputs.environment_name,
    }


def storage_parameters(
    inputs: DeployInputs, snowflake_trust: dict[str, str], existing_bucket: str = ""
) -> dict:
    return {
        **profiles.overrides(inputs.profile, "storage"),
        "EnvironmentName": inputs.environment_name,
        **snowflake_trust,
        stage_bucket.EXISTING_PARAMETER: existing_bucket,
    }


def airflow_parameters(
    inputs: DeployInputs, secret_arn: str, image_uri: str, count: int, certificate_arn: str
) -> dict:
    return {
        **profiles.overrides(inputs.profile, "airflow"),
        "EnvironmentName": inputs.environment_name,
        "ImageUri": image_uri,
        "AirflowCoreSecretArn": secret_arn,
        "AllowedCidr": inputs.allowed_cidr,
        "CertificateArn": certificate_arn,
        "ServiceDesiredCount": str(count),
        # empty: the template's default (deploy() fills them in from the deployed stack first)
        **{
            key: getattr(inputs, field)
            for field, _, key in TEMPLATE_CHOICES
            if getattr(inputs, field)
        },
        # empty: the profile's
        **{
            key: getattr(inputs, field)
            for field, _, key in PROFILE_CHOICES
            if getattr(inputs, field)
        },
    }


# Stand-ins for the two values only known later: the rules never look at them.
RULE_CHECK_VALUES = {
    "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rule-check-AbCdEf",
    "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/rule/check:0",
}


def check_rules(inputs: DeployInputs, template: dict, certificate_arn: str) -> None:
    """Refuse, before changing anything, what the airflow stack's Rules would refuse after the
    network and storage stacks had been deployed."""
    parameters = airflow_parameters(
        inputs, RULE_CHECK_VALUES["secret_arn"], RULE_CHECK_VALUES["image_uri"], 1, certificate_arn
    )
    broken = templates.Rendered(template, parameters).broken_rules()
    if broken:
        raise InputError("the airflow stack refuses these inputs: " + " ".join(broken))


def check_git_source(inputs: DeployInputs, clients: Clients, say: Say) -> git_remote.FoundRef:
    """The repository answers and has the branch or tag, read with the connection's token (HTTPS)
    or key (SSH, the host's key pinned) when a secret is given: refused here, before anything
    changes, rather than by a dag-processor that parses nothing."""
    source = git_remote.source_from(
        inputs.git_repo_url,
        inputs.git_ref,
        inputs.git_dags_subdir,
        inputs.git_refresh_interval,
        bool(inputs.git_connection_secret_arn),
    )
    ssh = git_remote.is_ssh_url(source.repo_url)
    credentials = None
    if inputs.git_connection_secret_arn:
        credentials = git_remote.connection_credentials(
            clients.secretsmanager, inputs.git_connection_secret_arn, ssh=ssh
        )
    found = git_remote.check(source, credentials, inputs.git_ssh_known_hosts if ssh else "")
    ref = f"{found.kind} {source.tracking_ref}"
    say(f"  git bundle: {source.repo_url} {ref} at {found.commit[:12]}")
    return found


def _current_parameter(client: Any, name: str, key: str) -> str | None:
    return stacks.parameters(stacks.describe(client, name)).get(key)


EXTERNAL_ID_PLACEHOLDER = "pending-snowflake-integration"  # storage.yml's default


def _given_or_previous(
    client: Any, stack_name: str, key: str, given: str, say: Say, default: str = ""
) -> str:
    """The value given to this deploy, else the stack's current one: a redeploy that omits
    SNOWFLAKE_IAM_USER_ARN, SNOWFLAKE_EXTERNAL_ID or the certificate keeps them, rather than
    resetting the Snowflake trust to its placeholder or HTTPS back to HTTP."""
    if given:
        return given
    previous = _current_parameter(client, stack_name, key) or ""
    if previous and previous != default:
        say(f"  {key}: kept from the previous deploy")
    return previous or default


def migrated_image_parameter(environment_name: str) -> str:
    """SSM parameter naming the image whose migration last completed (written after it did)."""
    return f"/{environment_name}/airflow/migrated-image"


def _migrated_image(clients: Clients, environment_name: str) -> str | None:
    try:
        name = migrated_image_parameter(environment_name)
        return clients.ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except clients.ssm.exceptions.ParameterNotFound:
        return None


def _migrate(inputs: DeployInputs, clients: Clients, network: dict, airflow: dict, say: Say):
    placement = profiles.overrides(inputs.profile, "airflow")["TaskPlacement"]
    subnets = network["PublicSubnetIds" if placement == "public" else "PrivateSubnetIds"]
    run_migration(
        clients.ecs,
        cluster=network["ClusterName"],
        task_definition=airflow["MigrationTaskDefinitionArn"],
        subnets=subnets.split(","),
        security_group=airflow["ServiceSecurityGroupId"],
        assign_public_ip=airflow["TaskAssignPublicIp"],
        log_group=airflow["ComponentLogGroupName"],
        say=say,
    )


def _alert_subscription(clients: Clients, topic_arn: str, email: str) -> str | None:
    """The email's subscription to the alerts topic: "pending" (its confirmation link not
    clicked yet), "confirmed", or None when SNS cannot say."""
    if not topic_arn.startswith("arn:"):
        return None  # no such output (a stack that never completed)
    try:
        pages = clients.sns.get_paginator("list_subscriptions_by_topic").paginate(
            TopicArn=topic_arn
        )
        for page in pages:
            for subscription in page["Subscriptions"]:
                if subscription["Protocol"] == "email" and subscription["Endpoint"] == email:
                    pending = subscription["SubscriptionArn"] == "PendingConfirmation"
                    return "pending" if pending else "confirmed"
    except clients.sns.exceptions.ClientError:
        pass
    return None


def _task_address(clients: Clients, cluster: str, service: str) -> str | None:
    """The UI address of a load-balancer-free profile: the api-server task's public IP."""
    try:
        arns = clients.ecs.list_tasks(cluster=cluster, serviceName=service)["taskArns"]
        tasks = clients.ecs.describe_tasks(cluster=cluster, tasks=arns[:1])["tasks"] if arns else []
        details = [d for t in tasks for a in t.get("attachments", []) for d in a["details"]]
        (eni,) = [d["value"] for d in details if d["name"] == "networkInterfaceId"]
        (interface,) = clients.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])[
            "NetworkInterfaces"
        ]
        return f"http://{interface['Association']['PublicIp']}:8080"
    except (KeyError, ValueError, clients.ecs.exceptions.ClientError):
        return None  # not running yet: the ECS console shows the task's public IP


def deploy(
    inputs: DeployInputs,
    clients: Clients,
    say: Say = print,
    docker: bool | None = None,
    migrate: Callable[..., None] = _migrate,
    poll: float = 5.0,
) -> dict[str, Any]:
    docker = image.docker_available() if docker is None else docker
    account = check_prerequisites(inputs, clients, docker)
    env_name = inputs.environment_name
    # The airflow stack's choices: given, else the deployed stack's, else the template's. They
    # are checked against the template's rules here, before anything changes.
    airflow_name = stacks.stack_name(env_name, "airflow")
    certificate_arn = _given_or_previous(
        clients.cloudformation, airflow_name, "CertificateArn", inputs.certificate_arn, say
    )
    airflow_template = templates.load("airflow")
    inputs = dataclasses.replace(
        inputs,
        **{
            field: _given_or_previous(
                clients.cloudformation,
                airflow_name,
                key,
                getattr(inputs, field),
                say,
                str(airflow_template["Parameters"][key]["Default"]),
            )
            for field, _, key in TEMPLATE_CHOICES
        },
    )
    check_rules(inputs, airflow_template, certificate_arn)
    if inputs.dag_delivery == "git-bundle":
        check_git_source(inputs, clients, say)
    say(f"==> deploying {inputs.profile} profile as {env_name!r} to {account} {inputs.region}")

    say("==> secrets")
    secret_arn, secret_action = airflow_secrets.ensure_core_secret(clients.secretsmanager, env_name)
    say(f"  {airflow_secrets.core_secret_name(env_name)}: {secret_action}")
    connection_action = airflow_secrets.ensure_snowflake_connection(clients.ssm, inputs)
    say(f"  {airflow_secrets.SNOWFLAKE_PARAMETER}: {connection_action}")

    say("==> stacks")
    actions = {}
    actions["network"], network = stacks.deploy(
        clients.cloudformation, env_name, "network", network_parameters(inputs), say, poll
    )
    storage_name = stacks.stack_name(env_name, "storage")
    existing_bucket = stage_bucket.existing_bucket_parameter(
        clients.s3, clients.cloudformation, env_name, account, inputs.region, say
    )
    snowflake_trust = {
        key: _given_or_previous(clients.cloudformation, storage_name, key, given, say, default)
        for key, given, default in (
            ("SnowflakeIamUserArn", inputs.snowflake_iam_user_arn, ""),
            ("SnowflakeExternalId", inputs.snowflake_external_id, EXTERNAL_ID_PLACEHOLDER),
        )
    }
    storage_values = storage_parameters(inputs, snowflake_trust, existing_bucket)
    actions["storage"], storage = stacks.deploy(
        clients.cloudformation, env_name, "storage", storage_values, say, poll
    )
    if existing_bucket:
        # the stack notifies its queue of landed files only for a bucket it created
        events = stage_bucket.ensure_event_notification(
            clients.s3,
            clients.sqs,
            existing_bucket,
            templates.Rendered(templates.load("storage"), storage_values),
            account,
        )
        say(f"  {existing_bucket}: {events}")

    say("==> image")
    architecture = profiles.overrides(inputs.profile, "airflow")["CpuArchitecture"]
    image_uri = inputs.image_uri or image.build_and_push(
        clients.ecr, storage["ImageRepositoryUri"], architecture, say
    )

    # The schema must match the image before any component starts: until the migration of this
    # image has completed (recorded in SSM only after it did, so a failed or interrupted one is
    # retried by the next deploy), the components are stopped, migrated once, then started.
    running = airflow_parameters(inputs, secret_arn, image_uri, 1, certificate_arn)
    if inputs.dag_delivery == "s3-bundle":
        # before any component starts: the dag-processor parses what is in the bucket
        say("==> DAG bundle")
        prefix = templates.parameter_values(airflow_template, running)["DagBundlePrefix"]
        bucket = stage_bucket.bucket_name(existing_bucket, env_name, account, inputs.region)
        dag_bundle.sync(clients.s3, bucket, prefix, say=say)
    migrated = False
    if _migrated_image(clients, env_name) != image_uri:
        say("==> airflow (components stopped for the migration)")
        stopped = airflow_parameters(inputs, secret_arn, image_uri, 0, certificate_arn)
        stacks.deploy(clients.cloudformation, env_name, "airflow", stopped, say, poll)
        migrate(inputs, clients, network, stacks.outputs(clients.cloudformation, airflow_name), say)
        clients.ssm.put_parameter(
            Name=migrated_image_parameter(env_name), Value=image_uri, Type="String", Overwrite=True
        )
        migrated = True
    say("==> airflow")
    actions["airflow"], airflow = stacks.deploy(
        clients.cloudformation, env_name, "airflow", running, say, poll
    )
    if migrated:
        actions["airflow"] = "updated"

    say("==> done")
    ui = airflow.get("UiUrl", "(see the airflow stack outputs)")
    if profiles.overrides(inputs.profile, "airflow")["UseLoadBalancer"] == "disabled":
        ui = _task_address(clients, network.get("ClusterName", ""), "airflow") or ui
    say(f"  Airflow UI: {ui}")
    if airflow.get("AdminSecretArn"):
        say(
            "  Sign in as admin; the password is in Secrets Manager, never printed: aws "
            f"secretsmanager get-secret-value --secret-id {airflow['AdminSecretArn']} "
            "--query SecretString"
        )
    if airflow.get("DashboardUrl"):
        say(f"  Dashboard: {airflow['DashboardUrl']}")
    if inputs.alert_email:
        state = _alert_subscription(clients, airflow.get("AlertTopicArn", ""), inputs.alert_email)
        if state != "confirmed":
            say(
                f"  Alerts go to {inputs.alert_email} once the subscription is confirmed: SNS "
                'mailed it "AWS Notification - Subscription Confirmation"; click its link '
                "(nothing is delivered before)"
            )
        else:
            say(f"  Alerts go to {inputs.alert_email}")
    for label, key in (
        ("Snowflake stage URL", "StageUrl"),
        ("Storage integration role", "SnowflakeStorageIntegrationRoleArn"),
    ):
        if storage.get(key):  # also the values for SNOWFLAKE_STAGE_URL / _STORAGE_ROLE_ARN
            say(f"  {label}: {storage[key]}")
    if not snowflake_trust["SnowflakeIamUserArn"]:
        say(
            "  Next (docs/deploy.md, step 2): create the storage integration with `make "
            "snowflake-setup`, run DESC INTEGRATION s3_landing, then make deploy again with "
            "SNOWFLAKE_IAM_USER_ARN and SNOWFLAKE_EXTERNAL_ID set"
        )
    return {"actions": actions, "migrated": migrated, "image_uri": image_uri, "outputs": airflow}


def destroy(
    environment_name: str,
    clients: Clients,
    delete_database: bool,
    say: Say = print,
    poll: float = 5.0,
) -> dict[str, str]:
    """Delete the stacks in reverse order, then the secrets; the stage bucket is retained."""
    airflow_name = stacks.stack_name(environment_name, "airflow")
    airflow_stack = stacks.describe(clients.cloudformation, airflow_name)
    parameters = stacks.parameters(airflow_stack)
    # A stack whose first creation never completed holds no database: it is deleted as it is
    # (it cannot be updated anyway).
    if stacks.is_live(airflow_stack) and parameters.get("DbDeletionProtection") == "true":
        if not delete_database:
            raise InputError(
                f"{airflow_name} has database deletion protection on (prod profile): pass "
                "--delete-database to turn it off and delete (a final snapshot is kept)"
            )
        parameters["DbDeletionProtection"] = "false"
        say("==> turning off database deletion protection")
        stacks.deploy(clients.cloudformation, environment_name, "airflow", parameters, say, poll)
    done = {}
    for stack in reversed(stacks.STACKS_IN_ORDER):
        say(f"==> deleting {stacks.stack_name(environment_name, stack)}")
        done[stack] = stacks.delete(clients.cloudformation, environment_name, stack, say, poll)
    say("==> deleting secrets")
    name = airflow_secrets.core_secret_name(environment_name)
    try:
        # recoverable for 7 days: the Fernet key decrypts connections stored in a DB snapshot
        clients.secretsmanager.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        done["shared_secrets"] = "scheduled for deletion in 7 days"
    except clients.secretsmanager.exceptions.ResourceNotFoundException:
        done["shared_secrets"] = "absent"
    for key, parameter in (
        ("snowflake_connection", airflow_secrets.SNOWFLAKE_PARAMETER),
        # the database went with the stack: the next deploy must migrate a new one
        ("migrated_image", migrated_image_parameter(environment_name)),
    ):
        try:
            clients.ssm.delete_parameter(Name=parameter)
            done[key] = "deleted"
        except clients.ssm.exceptions.ParameterNotFound:
            done[key] = "absent"
    for key, value in done.items():
        say(f"  {key}: {value}")
    say("  the stage bucket is retained (DeletionPolicy: Retain); empty and delete it yourself")
    return done
