"""Landed files start the raw load: the stage bucket's events, their queue, who may read it."""

from __future__ import annotations

import pytest

from deploy.rehearsal.aws import pseudo_parameters
from deploy.rehearsal.intrinsics import Resolver, World
from deploy.templates import containers
from deploy.templates import environment as env

RETAINED = "airflow-stage-123456789012-us-east-1"
QUEUE_URL = {"Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-EventQueueUrl"}}
QUEUE_ARN = {"Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-EventQueueArn"}}
READ_QUEUE = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}


def evaluated(rendered, value, **refs):
    """A value as CloudFormation would evaluate it in us-east-1 for account 123456789012."""
    return Resolver(rendered, World(pseudo_parameters("airflow-storage"), refs=refs)).resolve(value)


def bucket_arn(rendered):
    """The stage bucket's ARN as the StageBucketArn output evaluates it."""
    bucket = rendered.template["Resources"]["StageBucket"]["Properties"]["BucketName"]
    name = evaluated(rendered, bucket)
    return evaluated(
        rendered, rendered.template["Outputs"]["StageBucketArn"]["Value"], StageBucket=name
    )


def test_event_queue_is_encrypted_and_redrives_to_a_dead_letter_queue(render):
    resources = render("storage").resources
    queue = resources["EventQueue"]["Properties"]
    dead_letters = resources["EventDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and dead_letters["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert dead_letters["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "RedrivePolicy" not in dead_letters


@pytest.mark.parametrize("existing", ["", RETAINED])
def test_only_s3_from_the_stage_bucket_of_this_account_may_send(render, existing):
    rendered = render("storage", ExistingStageBucketName=existing)
    policy = rendered.resources["EventQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "EventQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    condition = statement["Condition"]
    assert set(condition) == {"ArnEquals", "StringEquals"}
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # the bucket's ARN, built from its name (no Ref: the bucket waits for this policy)
    source = evaluated(rendered, condition["ArnEquals"]["aws:SourceArn"])
    if existing:
        assert source == f"arn:aws:s3:::{RETAINED}"
        assert source == evaluated(
            rendered, rendered.template["Outputs"]["StageBucketArn"]["Value"]
        )
    else:
        assert source == bucket_arn(rendered) == f"arn:aws:s3:::{RETAINED}"


def test_files_landed_under_the_stage_prefix_notify_the_queue(render):
    for prefix in ("landing/", "drop/"):
        rendered = render("storage", LandingPrefix=prefix)
        notification = rendered.resources["StageBucket"]["Properties"]["NotificationConfiguration"]
        assert notification == {
            "QueueConfigurations": [
                {
                    "Event": "s3:ObjectCreated:*",
                    "Queue": {"Fn::GetAtt": ["EventQueue", "Arn"]},
                    "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": prefix}]}},
                }
            ]
        }
        # the prefix the Snowflake stage reads
        url = evaluated(
            rendered, rendered.template["Outputs"]["StageUrl"]["Value"], StageBucket="b"
        )
        assert url == f"s3://b/{prefix}"


def references(value):
    """Logical ids a value refers to (Ref, GetAtt, ${Name} in Sub)."""
    import re

    if isinstance(value, list):
        return set().union(*map(references, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, item in value.items():
        if key == "Ref":
            found.add(item)
        elif key == "Fn::GetAtt":
            found.add(item[0])
        elif key == "Fn::Sub":
            text = item[0] if isinstance(item, list) else item
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
        found |= references(item)
    return found


def test_the_queue_policy_is_in_place_before_the_bucket_notification_without_a_cycle(raw):
    """S3 checks that it may send to the queue when the notification is set: CloudFormation must
    create the queue policy first, and the policy must not wait for the bucket."""
    resources = raw["storage"]["Resources"]
    assert resources["StageBucket"]["DependsOn"] == "EventQueuePolicy"
    assert "StageBucket" not in references(resources["EventQueuePolicy"])
    graph = {}
    for name, resource in resources.items():
        needs = references(resource.get("Properties", {})) | references(resource.get("Condition"))
        depends = resource.get("DependsOn", [])
        needs |= {depends} if isinstance(depends, str) else set(depends)
        graph[name] = needs & set(resources)
    order = []
    while graph:  # Kahn: a cycle leaves resources with nothing ready
        ready = sorted(name for name, needs in graph.items() if not needs - set(order))
        assert ready, f"circular dependency among {sorted(graph)}"
        order += ready
        graph = {name: needs for name, needs in graph.items() if name not in ready}
    chain = ["EventDeadLetterQueue", "EventQueue", "EventQueuePolicy", "StageBucket"]
    assert sorted(chain, key=order.index) == chain


def test_an_adopted_bucket_keeps_its_queue_and_the_stack_sets_no_notification(render):
    """CloudFormation cannot change a bucket it did not create: `make deploy` sets the same
    notification on it (test/deploy/test_redeploy_after_destroy.py)."""
    adopted = render("storage", ExistingStageBucketName=RETAINED)
    assert "StageBucket" not in adopted.resources
    assert {"EventQueue", "EventDeadLetterQueue", "EventQueuePolicy"} <= set(adopted.resources)


def test_queue_outputs(render):
    outputs = render("storage").template["Outputs"]
    assert outputs["EventQueueUrl"]["Value"] == {"Ref": "EventQueue"}
    assert outputs["EventQueueArn"]["Value"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    assert outputs["EventDeadLetterQueueArn"]["Value"] == {
        "Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]
    }


# --- airflow.yml: the triggerer reads the queue; the DAGs learn its URL ------------------------
VARIANTS = [("prod", {}), ("dev", {}), ("prod", {"Executor": "AwsEcsExecutor"})]


@pytest.fixture(params=VARIANTS, ids=["prod", "dev", "prod-ecs"])
def airflow(request, render):
    profile, parameters = request.param
    return render("airflow", profile, **parameters)


def statements(rendered, role):
    (policy,) = rendered.resources[role]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def actions(statement):
    found = statement["Action"]
    return {found} if isinstance(found, str) else set(found)


def test_only_the_triggerers_role_may_read_the_queue_and_only_that_queue(airflow):
    roles = airflow.resources_of_type("AWS::IAM::Role")
    with_sqs = {
        (role, s["Sid"])
        for role in roles
        for policy in roles[role]["Properties"].get("Policies", [])
        for s in policy["PolicyDocument"]["Statement"]
        if any(a.startswith("sqs:") for a in actions(s))
    }
    assert with_sqs == {("TriggererTaskRole", "StageEventQueue")}
    (queue,) = [
        s for s in statements(airflow, "TriggererTaskRole") if s["Sid"] == "StageEventQueue"
    ]
    assert queue["Effect"] == "Allow" and actions(queue) == READ_QUEUE
    assert queue["Resource"] == QUEUE_ARN
    assert "Condition" not in queue


ALERT_SIDS = {"PipelineAlerts", "PipelineAlertsKey", "PipelineAlertsSlackWebhook"}


def test_the_triggerers_role_is_the_task_role_plus_the_queue(airflow):
    """A copy of TaskRole's policy in the template (the components share one role otherwise):
    identical statements, the same trust, and the queue (and, for the combined task, which also
    runs callbacks, the alerts topic: test_alarms.py)."""
    triggerer = airflow.resources["TriggererTaskRole"]["Properties"]
    task = airflow.resources["TaskRole"]["Properties"]
    own = [
        s
        for s in statements(airflow, "TriggererTaskRole")
        if s["Sid"] not in {"StageEventQueue", *ALERT_SIDS}
    ]
    assert own == statements(airflow, "TaskRole")
    assert triggerer["AssumeRolePolicyDocument"] == task["AssumeRolePolicyDocument"]
    assert triggerer["RoleName"] == {"Fn::Sub": "${EnvironmentName}-airflow-triggerer"}


def test_the_triggerer_runs_with_its_role_and_the_others_without_it(airflow):
    roles = {
        name: task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
        for name, task in airflow.resources_of_type("AWS::ECS::TaskDefinition").items()
    }
    if airflow.parameters["Layout"] == "split":
        # the components that run failure callbacks publish alerts (test_alarms.py)
        local = airflow.parameters["Executor"] == "LocalExecutor"
        expected = {
            "ApiServerTaskDefinition": "TaskRole",
            "SchedulerTaskDefinition": "CallbackTaskRole" if local else "TaskRole",
            "DagProcessorTaskDefinition": "CallbackTaskRole",
            "TriggererTaskDefinition": "TriggererTaskRole",
        }
    else:  # the combined task holds the triggerer: one role for its four containers
        expected = {"CombinedTaskDefinition": "TriggererTaskRole"}
    expected["MigrationTaskDefinition"] = "TaskRole"
    if airflow.parameters["Executor"] == "AwsEcsExecutor":
        expected["WorkerTaskDefinition"] = "WorkerTaskRole"
    assert roles == expected


def test_every_container_that_parses_or_runs_dags_gets_the_queue_url(airflow):
    """The DAG's AssetWatcher reads PIPELINE_EVENT_QUEUE_URL at parse time: the dag-processor
    parses, the scheduler and triggerer load the DAG, a worker parses the file it runs."""
    parsing = {"scheduler", "dag-processor", "triggerer", "airflow-worker"}
    found = containers(airflow)
    if airflow.parameters["Executor"] != "AwsEcsExecutor":
        parsing.discard("airflow-worker")
    for name, definitions in found.items():
        for container in definitions:
            if name in parsing:
                assert env(container)["PIPELINE_EVENT_QUEUE_URL"] == QUEUE_URL, name
            else:  # the api-server and the migration parse no DAG file
                assert "PIPELINE_EVENT_QUEUE_URL" not in env(container), name
    assert parsing <= set(found)
