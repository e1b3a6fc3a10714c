"""The rehearsal's stack resources on moto, without Docker: what `make rehearse` creates before it
starts a container (`ProfileRehearsal._stack_resources`), and every task definition resolved
from it, as the rehearsal would run them. On a moto server with IAM access control on, as the
rehearsal's: the role a container gets decides what it may do."""

from __future__ import annotations

import json
import urllib.parse
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from deploy import templates
from deploy.rehearsal import VARIANTS, aws
from deploy.rehearsal.run import ProfileRehearsal
from deploy.templates import environment as env
from test.deploy.conftest import serve_moto

PARSING = ("scheduler", "dag-processor", "triggerer", "airflow-worker")


@pytest.fixture(scope="module", params=list(VARIANTS))
def rehearsed(request, tmp_path_factory):
    """One variant's stack resources on its own moto, started as the rehearsal starts it: IAM on
    after the admin's unsigned bootstrap calls, AWS managed policies loaded."""
    moto = contextmanager(serve_moto)
    settings = {
        "INITIAL_NO_AUTH_ACTION_COUNT": str(aws.BOOTSTRAP_CALLS),
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    }
    with moto(settings) as endpoint:
        no_docker = SimpleNamespace(docker=lambda *argv, **kwargs: None)  # only `docker tag`
        profile = ProfileRehearsal(
            no_docker,
            SimpleNamespace(runtime="airflow-runtime:rehearsal"),
            "postgres",
            request.param,
            tmp_path_factory.mktemp(request.param),
            soak_seconds=0,
            say=lambda _: None,
        )
        profile.host_endpoint, profile.admin = endpoint, aws.bootstrap_admin(endpoint)
        profile._deploy_inputs()
        profile._stack_resources()
        yield profile


def task_definitions(profile):
    return {
        logical: profile._task(logical).definition
        for logical, resource in profile.airflow.resources.items()
        if resource["Type"] == "AWS::ECS::TaskDefinition"
    }


def alert_topic(profile):
    return f"arn:aws:sns:{aws.REGION}:{aws.ACCOUNT}:{profile.environment_name}-pipeline-alerts"


def unresolved(value):
    if isinstance(value, dict):
        functions = [k for k in value if k == "Ref" or k.startswith("Fn::")]
        return functions + [f for v in value.values() for f in unresolved(v)]
    if isinstance(value, list):
        return [f for v in value for f in unresolved(v)]
    return []


def test_every_task_definition_resolves_with_the_queue_and_topic_where_dags_are_parsed(
    rehearsed,
):
    url = rehearsed.storage_outputs["EventQueueUrl"]
    name = f"{rehearsed.environment_name}-stage-events"
    assert url == f"https://sqs.{aws.REGION}.amazonaws.com/{aws.ACCOUNT}/{name}"
    topic = alert_topic(rehearsed)
    parsing = 0
    for logical, definition in task_definitions(rehearsed).items():
        assert not unresolved(definition), logical
        for container in definition["ContainerDefinitions"]:
            variables = env(container)
            if container["Name"] in PARSING:
                assert variables["PIPELINE_EVENT_QUEUE_URL"] == url, container["Name"]
                assert variables["PIPELINE_ALERTS_TOPIC_ARN"] == topic, container["Name"]
                parsing += 1
            else:
                assert "PIPELINE_ALERTS_TOPIC_ARN" not in variables, container["Name"]
    assert parsing == (4 if rehearsed.executor == "AwsEcsExecutor" else 3)


def test_a_file_landed_under_the_prefix_reaches_the_queue(rehearsed):
    sqs = aws.client("sqs", rehearsed.host_endpoint, rehearsed.admin)
    s3 = aws.client("s3", rehearsed.host_endpoint, rehearsed.admin)
    url = rehearsed.storage_outputs["EventQueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": rehearsed.storage_outputs["EventDeadLetterQueueArn"],
        "maxReceiveCount": 5,
    }
    policy = json.loads(attributes["Policy"])
    (statement,) = policy["Statement"]
    bucket = rehearsed.storage_outputs["StageBucketName"]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == f"arn:aws:s3:::{bucket}"
    sqs.purge_queue(QueueUrl=url)  # moto's s3:TestEvent
    s3.put_object(Bucket=bucket, Key="landing/flights/2013-01.json", Body=b"{}\n")
    s3.put_object(Bucket=bucket, Key="elsewhere/file.json", Body=b"{}\n")
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    (record,) = json.loads(message["Body"])["Records"]
    assert record["eventName"] == "ObjectCreated:Put"
    assert (
        urllib.parse.unquote_plus(record["s3"]["object"]["key"]) == "landing/flights/2013-01.json"
    )


def test_only_the_task_holding_the_triggerer_may_read_the_queue(rehearsed):
    """What each task's own role may do on moto (IAM on): the triggerer's task receives and
    deletes; the others' (api-server, scheduler, dag-processor, migration, worker) are refused."""
    url = rehearsed.storage_outputs["EventQueueUrl"]
    allowed, refused = set(), set()
    for logical, definition in task_definitions(rehearsed).items():
        credentials = aws.assume(
            rehearsed.host_endpoint, rehearsed.admin, definition["TaskRoleArn"], logical
        )
        sqs = aws.client("sqs", rehearsed.host_endpoint, credentials)
        try:
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": "x"}])
            allowed.add(logical)
        except sqs.exceptions.ClientError as error:
            # moto answers SQS's JSON protocol with an XML AccessDenied: botocore reads "403"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403, error
            assert "is not authorized to perform: sqs:ReceiveMessage" in str(error)
            refused.add(logical)
    holding_the_triggerer = {
        logical
        for logical, definition in task_definitions(rehearsed).items()
        if "triggerer" in [c["Name"] for c in definition["ContainerDefinitions"]]
    }
    assert allowed == holding_the_triggerer and len(allowed) == 1
    assert "MigrationTaskDefinition" in refused


def test_the_alerts_topic_is_encrypted_open_to_its_alarms_and_subscribed(rehearsed):
    """The topic as the stack creates it (the rehearsal's inputs give an email, as
    DEPLOY_ALERT_EMAIL would): its own key, rotated; its policy; the email's subscription."""
    from deploy.rehearsal.run import ALERT_EMAIL

    topic = alert_topic(rehearsed)
    assert rehearsed.alert_topics == {"AlertTopic": topic}
    sns = aws.client("sns", rehearsed.host_endpoint, rehearsed.admin)
    kms = aws.client("kms", rehearsed.host_endpoint, rehearsed.admin)
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    key = attributes["KmsMasterKeyId"]
    assert key == rehearsed.world.refs["AlertKey"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    (statement,) = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == (
        f"arn:aws:cloudwatch:{aws.REGION}:{aws.ACCOUNT}:alarm:{rehearsed.environment_name}-*"
    )
    key_policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert "cloudwatch.amazonaws.com" in [
        s["Principal"].get("Service") for s in key_policy["Statement"]
    ]
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", ALERT_EMAIL)


def runs_callbacks(profile, definition):
    names = {c["Name"] for c in definition["ContainerDefinitions"]}
    return templates.runs_callbacks(names, profile.executor)


def test_only_the_tasks_that_run_callbacks_may_publish_alerts(rehearsed):
    """What each task's own role may do on moto (IAM on): publish to the alerts topic where
    Airflow runs failure and deadline callbacks; the api-server's, the migration's and, with the
    ECS executor, the scheduler's are refused."""
    topic = alert_topic(rehearsed)
    allowed, refused = set(), set()
    definitions = task_definitions(rehearsed)
    for logical, definition in definitions.items():
        credentials = aws.assume(
            rehearsed.host_endpoint, rehearsed.admin, definition["TaskRoleArn"], logical
        )
        sns = aws.client("sns", rehearsed.host_endpoint, credentials)
        try:
            sns.publish(TopicArn=topic, Subject="rehearsal", Message=f"{logical} failed")
            allowed.add(logical)
        except sns.exceptions.ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403, error
            assert "is not authorized to perform: sns:Publish" in str(error)
            refused.add(logical)
    expected = {logical for logical, d in definitions.items() if runs_callbacks(rehearsed, d)}
    assert allowed == expected
    assert (
        allowed
        == {
            ("prod", "LocalExecutor"): {
                "SchedulerTaskDefinition",
                "DagProcessorTaskDefinition",
                "TriggererTaskDefinition",
            },
            ("dev", "LocalExecutor"): {"CombinedTaskDefinition"},
            ("prod", "AwsEcsExecutor"): {
                "DagProcessorTaskDefinition",
                "WorkerTaskDefinition",
                "TriggererTaskDefinition",
            },
        }[(rehearsed.profile, rehearsed.executor)]
    )
    assert "MigrationTaskDefinition" in refused


def test_dev_git_reads_the_dags_from_the_git_host_with_the_connections_secret(rehearsed):
    """DagDelivery=git-bundle as the rehearsal deploys it: every container reads the bundle at
    the git host's URL; only those that read DAG code get the connection, from the secret the
    user created, which the task's execution role (and no task role) may read; over SSH they
    alone get the pinned host key too."""
    from deploy.dag_delivery import CONFIG_ENV
    from deploy.rehearsal.run import GIT_HOST

    if rehearsed.dag_delivery != "git-bundle":
        pytest.skip("the variant reads the DAGs from the image")
    url = (
        f"ssh://git@{GIT_HOST}/pipelines.git"
        if rehearsed.git_over_ssh
        else f"https://{GIT_HOST}/pipelines.git"
    )
    definitions = task_definitions(rehearsed)
    with_connection, with_host_key = set(), set()
    for definition in definitions.values():
        for container in definition["ContainerDefinitions"]:
            (bundle,) = json.loads(env(container)[CONFIG_ENV])
            assert bundle["kwargs"]["repo_url"] == url
            secrets = {s["Name"]: s["ValueFrom"] for s in container.get("Secrets", [])}
            if "AIRFLOW_CONN_GIT_DEFAULT" in secrets:
                assert secrets["AIRFLOW_CONN_GIT_DEFAULT"] == rehearsed.git_secret_arn
                with_connection.add(container["Name"])
            if "GIT_SSH_KNOWN_HOSTS" in env(container):
                known_hosts = env(container)["GIT_SSH_KNOWN_HOSTS"].split()
                assert known_hosts[0] == GIT_HOST and known_hosts[1] == "ssh-ed25519"
                with_host_key.add(container["Name"])
    assert with_connection == {"scheduler", "dag-processor"}
    assert with_host_key == (with_connection if rehearsed.git_over_ssh else set())
    (combined,) = (d for d in definitions.values() if len(d["ContainerDefinitions"]) > 1)
    readers = {
        "execution": combined["ExecutionRoleArn"],
        "task": combined["TaskRoleArn"],
    }
    read = {}
    for name, role in readers.items():
        credentials = aws.assume(rehearsed.host_endpoint, rehearsed.admin, role, name)
        sm = aws.client("secretsmanager", rehearsed.host_endpoint, credentials)
        try:
            value = sm.get_secret_value(SecretId=rehearsed.git_secret_arn)["SecretString"]
            read[name] = json.loads(value) == rehearsed.git_connection
        except sm.exceptions.ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403), error
            read[name] = False
    assert read == {"execution": True, "task": False}
