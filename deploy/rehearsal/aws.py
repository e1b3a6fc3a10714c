"""AWS for the rehearsal: a moto server with IAM access control on, and in it what `make deploy`
creates before the stacks (through the deploy code itself) plus what the stacks would create.

moto evaluates the actions of identity policies: each container runs with credentials of its
own task role (STS AssumeRole), and the "ECS agent" reads the Secrets with the execution role's,
so an action the template forgot fails the rehearsal. What moto cannot check: resources (see
`_actions_on_any_resource`), most conditions, resource policies (the bucket and queue policies),
and the ECS service principal of a trust (see `_ecs_agent_may_assume`), KMS key use (SNS's on a
publisher's behalf).
"""

from __future__ import annotations

import json
import re
import secrets as random
import string
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from deploy import airflow_secrets, stage_bucket, templates
from deploy.inputs import DeployInputs
from deploy.rehearsal.intrinsics import Resolver, World

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
PARTITION = "aws"
ADMIN_USER = "rehearsal-admin"
ADMIN_ARN = f"arn:{PARTITION}:iam::{ACCOUNT}:user/{ADMIN_USER}"
ECS_TASKS = "ecs-tasks.amazonaws.com"
# create_user, put_user_policy, create_access_key: the only calls moto lets through unsigned
BOOTSTRAP_CALLS = 3
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None

    def env(self) -> dict[str, str]:
        values = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        if self.session_token:
            values["AWS_SESSION_TOKEN"] = self.session_token
        return values


def bootstrap_admin(endpoint: str) -> Credentials:
    """The first calls moto accepts unsigned: an admin user and its key, used for all else."""
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",  # noqa: S106 - unsigned bootstrap calls
    )
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(
        UserName=ADMIN_USER, PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY)
    )
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def client(service: str, endpoint: str, credentials: Credentials) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.session_token,
    )


def pseudo_parameters(stack_name: str) -> dict[str, str]:
    return {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": PARTITION,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/rehearsal",
    }


def role_arn(name: str) -> str:
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"


def log_group_arn(name: str) -> str:
    # what CloudFormation's LogGroup.Arn returns: with the trailing ":*"
    return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"


def create_deploy_secrets(endpoint: str, admin: Credentials, inputs: DeployInputs) -> str:
    """What `make deploy` creates before the stacks, by its own code; the core secret's ARN."""
    arn, _ = airflow_secrets.ensure_core_secret(
        client("secretsmanager", endpoint, admin), inputs.environment_name
    )
    airflow_secrets.ensure_snowflake_connection(client("ssm", endpoint, admin), inputs)
    return arn


def create_storage_stack(
    endpoint: str, admin: Credentials, storage: templates.Rendered, environment_name: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The storage stack's event queues, bucket (with its notification) and Snowflake role; its
    outputs and exports."""
    world = World(pseudo_parameters(f"{environment_name}-storage"))
    resolver = Resolver(storage, world)
    resources = storage.resources
    create_queues(endpoint, admin, resolver, resources, world)
    bucket_properties = resources["StageBucket"]["Properties"]
    bucket = resolver.resolve(bucket_properties["BucketName"], "StageBucket")
    world.refs["StageBucket"] = bucket
    world.attributes["StageBucket.Arn"] = f"arn:{PARTITION}:s3:::{bucket}"
    s3 = client("s3", endpoint, admin)
    s3.create_bucket(Bucket=bucket)
    if "NotificationConfiguration" in bucket_properties:
        # after the queue policies, as the template's DependsOn orders it
        notification = resolver.resolve(bucket_properties["NotificationConfiguration"], bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": stage_bucket.queue_configurations(notification, "stack")
            },
        )
    repository = f"{environment_name}/airflow"
    world.refs["ImageRepository"] = repository
    world.attributes["ImageRepository.Arn"] = (
        f"arn:{PARTITION}:ecr:{REGION}:{ACCOUNT}:repository/{repository}"
    )
    world.attributes["ImageRepository.RepositoryUri"] = (
        f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}"
    )
    create_roles(endpoint, admin, resolver, resources, world)
    outputs, exports = {}, {}
    for name, output in storage.template["Outputs"].items():
        value = resolver.resolve(output["Value"], f"Outputs.{name}")
        outputs[name] = value
        if "Export" in output:
            exports[resolver.resolve(output["Export"]["Name"], name)] = value
    return outputs, exports


def queue_url(name: str) -> str:
    # what CloudFormation's Ref of a queue returns (moto finds a queue by the URL's last part)
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def create_queues(
    endpoint: str, admin: Credentials, resolver: Resolver, resources: dict, world: World
) -> dict[str, str]:
    """Every AWS::SQS::Queue with its attributes, then every AWS::SQS::QueuePolicy on its
    queues; logical id -> URL, also the Ref."""
    sqs = client("sqs", endpoint, admin)
    queues = {name: r for name, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    for logical, queue in queues.items():  # names first: a redrive policy names its DLQ's ARN
        name = resolver.resolve(queue["Properties"]["QueueName"], logical)
        world.refs[logical] = queue_url(name)
        world.attributes[f"{logical}.Arn"] = f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"
        world.attributes[f"{logical}.QueueName"] = name
    # dead-letter queues first: moto refuses a redrive policy to a queue it does not have
    for logical, queue in sorted(
        queues.items(), key=lambda q: "RedrivePolicy" in q[1]["Properties"]
    ):
        properties = resolver.resolve(queue["Properties"], logical)
        name = properties.pop("QueueName")
        properties.pop("Tags", None)
        sqs.create_queue(
            QueueName=name, Attributes={k: _attribute(v) for k, v in properties.items()}
        )
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::SQS::QueuePolicy":
            continue
        properties = resolver.resolve(resource["Properties"], logical)
        for url in properties["Queues"]:
            policy = json.dumps(properties["PolicyDocument"])
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return {logical: world.refs[logical] for logical in queues}


def _attribute(value: Any) -> str:
    """A queue property as the SQS API takes it: JSON for a policy, lower case for a boolean."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def create_network(endpoint: str, admin: Credentials, environment_name: str) -> dict[str, str]:
    """What the network stack exports, as objects on moto (the ECS executor's RunTask places
    its tasks in these subnets) and the cluster; the exports by name."""
    ec2 = client("ec2", endpoint, admin)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # as network.yml sets them (Fargate tasks' ENIs get private DNS names)
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = {
        kind: [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{base + i}.0/24")["Subnet"]["SubnetId"]
            for i in range(2)
        ]
        for kind, base in (("Public", 0), ("Private", 10))
    }
    cluster = client("ecs", endpoint, admin).create_cluster(clusterName=environment_name)
    name = environment_name
    return {
        f"{name}-VpcId": vpc,
        f"{name}-VpcCidr": "10.0.0.0/16",
        f"{name}-PublicSubnetIds": ",".join(subnets["Public"]),
        f"{name}-PrivateSubnetIds": ",".join(subnets["Private"]),
        f"{name}-ClusterName": environment_name,
        f"{name}-ClusterArn": cluster["cluster"]["clusterArn"],
    }


def create_security_groups(
    endpoint: str, admin: Credentials, resolver: Resolver, resources: dict, vpc: str, world: World
) -> None:
    """Every AWS::EC2::SecurityGroup, by name only: moto enforces none of their rules."""
    ec2 = client("ec2", endpoint, admin)
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::EC2::SecurityGroup":
            continue
        description = resolver.resolve(resource["Properties"]["GroupDescription"], logical)
        found = ec2.create_security_group(GroupName=logical, Description=description, VpcId=vpc)
        world.refs[logical] = found["GroupId"]


def register_task_definition(endpoint: str, admin: Credentials, definition: dict) -> str:
    """A resolved AWS::ECS::TaskDefinition registered on moto (what RunTask needs); its ARN."""
    ecs = client("ecs", endpoint, admin)
    registered = ecs.register_task_definition(
        family=definition["Family"],
        taskRoleArn=definition["TaskRoleArn"],
        executionRoleArn=definition["ExecutionRoleArn"],
        networkMode=definition["NetworkMode"],
        requiresCompatibilities=definition["RequiresCompatibilities"],
        cpu=str(definition["Cpu"]),
        memory=str(definition["Memory"]),
        # moto sums its containers' memory to place the task: the task's, as Fargate allots it
        containerDefinitions=[
            {
                "name": c["Name"],
                "image": c["Image"],
                "essential": c.get("Essential", True),
                "memory": int(c.get("Memory", definition["Memory"])),
            }
            for c in definition["ContainerDefinitions"]
        ],
    )
    return registered["taskDefinition"]["taskDefinitionArn"]


def create_roles(
    endpoint: str, admin: Credentials, resolver: Resolver, resources: dict, world: World
) -> dict[str, str]:
    """Every AWS::IAM::Role of a stack, with its trust, managed and inline policies."""
    iam = client("iam", endpoint, admin)
    roles = {name: r for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    for logical, role in roles.items():  # names first: policies refer to each other's ARNs
        raw_name = role["Properties"].get("RoleName")
        name = resolver.resolve(raw_name, logical) if raw_name else f"rehearsal-{logical}"
        world.refs[logical] = name
        world.attributes[f"{logical}.Arn"] = role_arn(name)
    for logical, role in roles.items():
        properties = resolver.resolve(role["Properties"], logical)
        name = world.refs[logical]
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(
                _ecs_agent_may_assume(properties["AssumeRolePolicyDocument"])
            ),
        )
        for arn in properties.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for policy in properties.get("Policies", []):
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(
                    _sqs_batch_actions(_actions_on_any_resource(policy["PolicyDocument"]))
                ),
            )
    return {logical: world.attributes[f"{logical}.Arn"] for logical in roles}


def _actions_on_any_resource(document: dict) -> dict:
    """moto matches a statement's Resource against "*" for most services (it determines the
    resource of a call only for IAM, STS and SQS), so a statement naming an ARN would never
    allow anything there. On moto each statement allows its actions on any resource: a missing
    action fails the rehearsal, a wrong ARN cannot (test/deploy checks the ARNs)."""
    document = json.loads(json.dumps(document))
    for statement in document["Statement"]:
        statement["Resource"] = "*"
    return document


# AWS authorizes an SQS batch call by its single action; moto asks for the batch call's name.
SQS_BATCH_ACTIONS = {
    "sqs:SendMessage": "sqs:SendMessageBatch",
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
}


def _sqs_batch_actions(document: dict) -> dict:
    """On moto each statement granting an SQS action also grants its batch call, as AWS does
    (the triggerer deletes the messages it received with DeleteMessageBatch)."""
    document = json.loads(json.dumps(document))
    for statement in document["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        batch = [SQS_BATCH_ACTIONS[a] for a in actions if a in SQS_BATCH_ACTIONS]
        if batch:
            statement["Action"] = [*actions, *batch]
    return document


def _ecs_agent_may_assume(trust: dict) -> dict:
    """moto checks a role's trust on AssumeRole but cannot act as the ECS service: where the
    trust names ecs-tasks.amazonaws.com, the rehearsal's admin (our ECS agent) is added to the
    same statement. The role's permissions are unchanged; its conditions are not checked."""
    trust = json.loads(json.dumps(trust))
    for statement in trust["Statement"]:
        services = statement.get("Principal", {}).get("Service", [])
        if ECS_TASKS in ([services] if isinstance(services, str) else services):
            statement["Principal"]["AWS"] = ADMIN_ARN
    return trust


def create_alerts(
    endpoint: str, admin: Credentials, resolver: Resolver, resources: dict, world: World
) -> dict[str, str]:
    """The alerts topic as the stack creates it: every AWS::KMS::Key (policy, rotation), every
    AWS::SNS::Topic under its key, then the AWS::SNS::TopicPolicy and AWS::SNS::Subscription
    resources; logical id -> ARN of each topic, also the Ref. moto checks neither the key nor
    the topic policy on Publish: the callback roles' sns:Publish is what it enforces."""
    kms, sns = client("kms", endpoint, admin), client("sns", endpoint, admin)

    def of_type(kind: str) -> dict[str, dict]:
        return {
            logical: resolver.resolve(r["Properties"], logical)
            for logical, r in resources.items()
            if r["Type"] == kind
        }

    for logical, properties in of_type("AWS::KMS::Key").items():
        key = kms.create_key(
            Description=properties.get("Description", ""),
            Policy=json.dumps(properties["KeyPolicy"]),
        )["KeyMetadata"]
        if properties.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        world.refs[logical] = key["KeyId"]
        world.attributes[f"{logical}.Arn"] = key["Arn"]
        world.attributes[f"{logical}.KeyId"] = key["KeyId"]
    topics = {}
    for logical, properties in of_type("AWS::SNS::Topic").items():
        attributes = {
            k: str(properties[k]) for k in ("DisplayName", "KmsMasterKeyId") if k in properties
        }
        arn = sns.create_topic(Name=properties["TopicName"], Attributes=attributes)["TopicArn"]
        world.refs[logical] = topics[logical] = arn
        world.attributes[f"{logical}.TopicArn"] = arn
        world.attributes[f"{logical}.TopicName"] = properties["TopicName"]
    for properties in of_type("AWS::SNS::TopicPolicy").values():
        for arn in properties["Topics"]:
            policy = json.dumps(properties["PolicyDocument"])
            sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)
    for logical, properties in of_type("AWS::SNS::Subscription").items():
        found = sns.subscribe(
            TopicArn=properties["TopicArn"],
            Protocol=properties["Protocol"],
            Endpoint=properties["Endpoint"],
            ReturnSubscriptionArn=True,
        )
        world.refs[logical] = found["SubscriptionArn"]
    return topics


def create_generated_secrets(
    endpoint: str, admin: Credentials, resolver: Resolver, resources: dict, world: World
) -> dict[str, str]:
    """Every AWS::SecretsManager::Secret with GenerateSecretString, generated as CloudFormation
    does (its template JSON plus the generated key); logical id -> ARN, also the Ref."""
    sm = client("secretsmanager", endpoint, admin)
    created = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::SecretsManager::Secret":
            continue
        properties = resolver.resolve(resource["Properties"], logical)
        generate = properties["GenerateSecretString"]
        value = json.loads(generate.get("SecretStringTemplate", "{}"))
        value[generate["GenerateStringKey"]] = _generated_password(generate)
        arn = sm.create_secret(
            Name=properties.get("Name", f"{logical}-{uuid.uuid4().hex[:12]}"),
            SecretString=json.dumps(value),
        )["ARN"]
        world.refs[logical] = created[logical] = arn
    return created


def _generated_password(generate: dict) -> str:
    length = int(generate.get("PasswordLength", 32))
    alphabet = string.ascii_letters + string.digits
    if not generate.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    return "".join(random.choice(alphabet) for _ in range(length))


DYNAMIC_SECRET = re.compile(
    r"\{\{resolve:secretsmanager:(arn:[^:]+:secretsmanager:[^:]+:\d+:secret:[^:]+)"
    r":SecretString:([^:}]+)\}\}"
)


def resolve_dynamic_references(sm: Any, text: str) -> str:
    """CloudFormation's `{{resolve:secretsmanager:ARN:SecretString:key}}`, as it resolves them
    when it creates a resource (the value never appears in the template)."""
    return DYNAMIC_SECRET.sub(
        lambda m: resolve_secret(sm, None, f"{m.group(1)}:{m.group(2)}::"), text
    )


def create_log_groups(
    endpoint: str, admin: Credentials, resolver: Resolver, resources: dict, world: World
) -> dict[str, str]:
    logs = client("logs", endpoint, admin)
    groups = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Logs::LogGroup":
            continue
        properties = resolver.resolve(resource["Properties"], logical)
        name = properties["LogGroupName"]
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in properties:
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(properties["RetentionInDays"])
            )
        world.refs[logical] = name
        world.attributes[f"{logical}.Arn"] = log_group_arn(name)
        groups[logical] = name
    return groups


def assume(
    endpoint: str,
    admin: Credentials,
    arn: str,
    session: str,
    duration: int = 43200,
    external_id: str | None = None,
) -> Credentials:
    """Credentials of a role, as ECS hands them to a task or Snowflake assumes its role."""
    sts = client("sts", endpoint, admin)
    extra = {"ExternalId": external_id} if external_id else {}
    found = sts.assume_role(
        RoleArn=arn, RoleSessionName=session[:64], DurationSeconds=duration, **extra
    )
    c = found["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def resolve_secret(sm: Any, ssm: Any, value_from: str) -> str:
    """One `Secrets` entry as the ECS agent reads it: a Secrets Manager ARN, optionally with
    `:json-key:version-stage:version-id`, or an SSM parameter name or ARN."""
    if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
        parts = value_from.split(":")
        arn, rest = ":".join(parts[:7]), parts[7:]
        key, stage, version = (rest + ["", "", ""])[:3]
        request: dict[str, str] = {"SecretId": arn}
        if stage:
            request["VersionStage"] = stage
        if version:
            request["VersionId"] = version
        text = sm.get_secret_value(**request)["SecretString"]
        return str(json.loads(text)[key]) if key else text
    name = value_from.split(":parameter", 1)[1] if value_from.startswith("arn:") else value_from
    (parameter,) = ssm.get_parameters(Names=[name], WithDecryption=True)["Parameters"]
    return parameter["Value"]
