"""Day two: the alerts topic, who may publish to it, alarms, metric filters and the dashboard."""

from __future__ import annotations

import inspect
import json
import re

import pytest

from deploy import templates
from deploy.rehearsal.aws import pseudo_parameters
from deploy.rehearsal.intrinsics import Resolver, World
from deploy.templates import containers
from deploy.templates import environment as env

TOPIC = {"Ref": "AlertTopic"}
TOPIC_ACTIONS = [TOPIC]
SLACK_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/slack-webhook-AbCdEf"
NAMESPACE = {"Fn::Sub": "${EnvironmentName}/Airflow"}
CLUSTER = {"Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-ClusterName"}}
ALERT_SIDS = {"PipelineAlerts", "PipelineAlertsKey", "PipelineAlertsSlackWebhook"}
# the containers that parse or run DAGs (the same as get PIPELINE_EVENT_QUEUE_URL)
PARSING = {"scheduler", "dag-processor", "triggerer", "airflow-worker"}
VARIANTS = [("prod", {}), ("dev", {}), ("prod", {"Executor": "AwsEcsExecutor"})]


@pytest.fixture(params=VARIANTS, ids=["prod", "dev", "prod-ecs"])
def airflow(request, render):
    profile, parameters = request.param
    return render("airflow", profile, **parameters)


def evaluated(rendered, value, world=None):
    """A value as CloudFormation would evaluate it in us-east-1 for account 123456789012."""
    world = world or World(pseudo_parameters("airflow-airflow"))
    return Resolver(rendered, world).resolve(value)


def statements(rendered, role):
    (policy,) = rendered.resources[role]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def actions(statement):
    found = statement["Action"]
    return {found} if isinstance(found, str) else set(found)


def alarms(rendered):
    return {
        name: r["Properties"]
        for name, r in rendered.resources_of_type("AWS::CloudWatch::Alarm").items()
    }


# --- The topic ----------------------------------------------------------------------------------


def test_the_topic_is_encrypted_with_a_key_cloudwatch_alarms_may_use(render):
    """CloudWatch alarms cannot publish to a topic under the AWS managed key aws/sns (its policy
    cannot grant them the key): the topic has a key of its own whose policy does."""
    resources = render("airflow", "prod").resources
    topic = resources["AlertTopic"]["Properties"]
    assert topic["TopicName"] == {"Fn::Sub": "${EnvironmentName}-pipeline-alerts"}
    assert topic["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    key = resources["AlertKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    by_sid = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    cloudwatch = by_sid["CloudWatchAlarmsPublish"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert actions(cloudwatch) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    account = by_sid["AccountAdministersAndGrantsThroughIam"]
    assert account["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    assert not [s for s in by_sid.values() if s["Principal"] in ("*", {"AWS": "*"})]


def test_only_this_environments_alarms_may_publish_through_the_topic_policy(render):
    rendered = render("airflow", "prod")
    policy = rendered.resources["AlertTopicPolicy"]["Properties"]
    assert policy["Topics"] == [TOPIC]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish" and statement["Resource"] == TOPIC
    source = evaluated(rendered, statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert source == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:airflow-*"
    for name, alarm in alarms(rendered).items():
        assert evaluated(rendered, alarm["AlarmName"]).startswith("airflow-"), name


def test_an_email_is_subscribed_only_when_given(render):
    assert "AlertEmailSubscription" not in render("airflow", "prod").resources
    rendered = render("airflow", "prod", AlertEmail="ops@example.com")
    subscription = rendered.resources["AlertEmailSubscription"]["Properties"]
    assert subscription == {
        "TopicArn": TOPIC,
        "Protocol": "email",
        "Endpoint": "ops@example.com",
    }


@pytest.mark.parametrize(
    ("parameter", "good", "bad"),
    [
        ("AlertEmail", ["", "ops@example.com", "a.b+alerts@sub.example.org"], ["ops", "a b@x.io"]),
        (
            "AlertsSlackSecretArn",
            ["", SLACK_ARN],
            ["arn:aws:s3:::bucket", "slack-webhook", SLACK_ARN + " "],
        ),
    ],
)
def test_alert_parameters_accept_what_they_describe(raw, parameter, good, bad):
    pattern = raw["airflow"]["Parameters"][parameter]["AllowedPattern"]
    assert raw["airflow"]["Parameters"][parameter]["Default"] == ""
    for value in good:
        assert re.fullmatch(pattern, value), value
    for value in bad:
        assert not re.fullmatch(pattern, value), value


def test_the_topic_arn_is_exported(render):
    output = render("airflow", "prod").template["Outputs"]["AlertTopicArn"]
    assert output["Value"] == TOPIC
    assert output["Export"]["Name"] == {"Fn::Sub": "${EnvironmentName}-AlertTopicArn"}


# --- What the DAGs get, who may publish -----------------------------------------------------------


def test_every_container_that_parses_or_runs_dags_gets_the_topic_arn(airflow):
    found = containers(airflow)
    expected = set(PARSING)
    if airflow.parameters["Executor"] != "AwsEcsExecutor":
        expected.discard("airflow-worker")
    assert expected <= set(found)
    for name, definitions in found.items():
        for container in definitions:
            variables = env(container)
            if name in expected:
                assert variables["PIPELINE_ALERTS_TOPIC_ARN"] == TOPIC, name
                # the same containers as the event queue's URL
                assert "PIPELINE_EVENT_QUEUE_URL" in variables, name
            else:  # the api-server and the migration parse no DAG file
                assert "PIPELINE_ALERTS_TOPIC_ARN" not in variables, name
            assert "PIPELINE_ALERTS_SLACK_SECRET_ARN" not in variables, name


@pytest.mark.parametrize(("profile", "parameters"), VARIANTS, ids=["prod", "dev", "prod-ecs"])
def test_the_slack_secrets_arn_reaches_the_same_containers_when_given(render, profile, parameters):
    rendered = render("airflow", profile, AlertsSlackSecretArn=SLACK_ARN, **parameters)
    for name, definitions in containers(rendered).items():
        for container in definitions:
            variables = env(container)
            if "PIPELINE_ALERTS_TOPIC_ARN" in variables:
                assert variables["PIPELINE_ALERTS_SLACK_SECRET_ARN"] == SLACK_ARN, name
            else:
                assert "PIPELINE_ALERTS_SLACK_SECRET_ARN" not in variables, name
            assert "PIPELINE_ALERTS_SLACK_SECRET_ARN" not in {
                s["Name"] for s in container.get("Secrets", [])
            }  # the ARN, not the webhook: the callback reads the secret with its task's role


def runs_callbacks(rendered, task):
    names = {c["Name"] for c in task["Properties"]["ContainerDefinitions"]}
    return templates.runs_callbacks(names, rendered.parameters["Executor"])


def task_roles(rendered):
    return {
        logical: task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
        for logical, task in rendered.resources_of_type("AWS::ECS::TaskDefinition").items()
    }


def test_only_the_roles_of_tasks_that_run_callbacks_may_publish_and_only_to_the_topic(airflow):
    tasks = airflow.resources_of_type("AWS::ECS::TaskDefinition")
    roles = task_roles(airflow)
    callers = {roles[logical] for logical, task in tasks.items() if runs_callbacks(airflow, task)}
    others = set(roles.values()) - callers
    # a role is shared only by tasks that agree
    assert not callers & others
    publishing = {}
    for role, resource in airflow.resources_of_type("AWS::IAM::Role").items():
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if any(a.startswith("sns:") for a in actions(statement)):
                    publishing[role] = statement
    assert set(publishing) == callers
    for statement in publishing.values():
        assert statement["Sid"] == "PipelineAlerts" and statement["Effect"] == "Allow"
        assert statement["Action"] == "sns:Publish"
        assert statement["Resource"] == TOPIC
    assert "TaskRole" not in publishing and "TaskExecutionRole" not in publishing
    expected = {
        ("prod", "LocalExecutor"): {"CallbackTaskRole", "TriggererTaskRole"},
        ("dev", "LocalExecutor"): {"TriggererTaskRole"},
        ("prod", "AwsEcsExecutor"): {"CallbackTaskRole", "TriggererTaskRole", "WorkerTaskRole"},
    }
    profile = "prod" if airflow.parameters["Layout"] == "split" else "dev"
    assert set(publishing) == expected[(profile, airflow.parameters["Executor"])]


def test_publishers_may_use_the_topics_key_through_sns_only(airflow):
    for role in airflow.resources_of_type("AWS::IAM::Role"):
        found = {s.get("Sid"): s for s in statements(airflow, role)}
        if "PipelineAlerts" not in found:
            assert not [s for s in found.values() if any(a.startswith("kms:") for a in actions(s))]
            continue
        key = found["PipelineAlertsKey"]
        assert actions(key) == {"kms:GenerateDataKey*", "kms:Decrypt"}
        assert key["Resource"] == {"Fn::GetAtt": ["AlertKey", "Arn"]}
        via = evaluated(airflow, key["Condition"]["StringEquals"]["kms:ViaService"])
        assert via == "sns.us-east-1.amazonaws.com"


def test_the_scheduler_publishes_only_when_it_runs_the_tasks(render):
    assert task_roles(render("airflow", "prod"))["SchedulerTaskDefinition"] == "CallbackTaskRole"
    ecs = task_roles(render("airflow", "prod", Executor="AwsEcsExecutor"))
    assert ecs["SchedulerTaskDefinition"] == "TaskRole"  # its tasks run in worker tasks
    assert ecs["DagProcessorTaskDefinition"] == "CallbackTaskRole"


def test_the_callback_role_is_the_task_role_plus_the_alerts(render):
    for parameters in ({}, {"Executor": "AwsEcsExecutor"}, {"AlertsSlackSecretArn": SLACK_ARN}):
        rendered = render("airflow", "prod", **parameters)
        callback = rendered.resources["CallbackTaskRole"]["Properties"]
        task = rendered.resources["TaskRole"]["Properties"]
        own = statements(rendered, "CallbackTaskRole")
        assert [s for s in own if s["Sid"] not in ALERT_SIDS] == statements(rendered, "TaskRole")
        assert callback["AssumeRolePolicyDocument"] == task["AssumeRolePolicyDocument"]
        assert callback["RoleName"] == {"Fn::Sub": "${EnvironmentName}-airflow-callbacks"}
    assert "CallbackTaskRole" not in render("airflow", "dev").resources  # no task would use it


@pytest.mark.parametrize(("profile", "parameters"), VARIANTS, ids=["prod", "dev", "prod-ecs"])
def test_the_slack_secret_is_readable_by_the_publishers_only_and_only_that_secret(
    render, profile, parameters
):
    def readers(rendered):
        found = {}
        for role, resource in rendered.resources_of_type("AWS::IAM::Role").items():
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    if "secretsmanager:GetSecretValue" in actions(statement):
                        found.setdefault(role, []).append(statement)
        return found

    without = readers(render("airflow", profile, **parameters))
    assert set(without) == {"TaskExecutionRole"}  # the core, database and admin secrets only
    rendered = render("airflow", profile, AlertsSlackSecretArn=SLACK_ARN, **parameters)
    found = readers(rendered)
    assert found.pop("TaskExecutionRole") == without["TaskExecutionRole"]
    publishers = {
        role
        for role in rendered.resources_of_type("AWS::IAM::Role")
        if "PipelineAlerts" in {s.get("Sid") for s in statements(rendered, role)}
    }
    assert set(found) == publishers
    for (statement,) in found.values():
        assert statement["Sid"] == "PipelineAlertsSlackWebhook"
        assert statement["Action"] == "secretsmanager:GetSecretValue"
        assert statement["Resource"] == SLACK_ARN


# --- Metric filters -------------------------------------------------------------------------------


def filters(rendered):
    return {
        name: r["Properties"]
        for name, r in rendered.resources_of_type("AWS::Logs::MetricFilter").items()
    }


def quoted_terms_match(pattern, line):
    """CloudWatch Logs' unstructured filter pattern of quoted terms: every term in the line."""
    terms = re.findall(r'"([^"]+)"', pattern)
    assert terms and re.sub(r'"[^"]+"', "", pattern).strip() == "", pattern
    return all(term in line for term in terms)


SCHEDULER_LINE = (
    "2026-11-27T10:00:00.123456Z [info     ] Adopting or resetting orphaned tasks for active dag "
    "runs [airflow.jobs.scheduler_job_runner.SchedulerJobRunner] loc=scheduler_job_runner.py:3287"
)
FINISHED_LINE = (
    "2026-11-27T10:05:00.123456Z [info     ] DagRun Finished: dag_id=snowflake_raw, logical_date="
    "None, run_id=asset_triggered__2026-11-27T10:04:00, run_start_date=2026-11-27 10:04:01+00:00, "
    "run_end_date=2026-11-27 10:05:00+00:00, run_duration=59.2, state={state}, run_type="
    "asset_triggered, data_interval_start=None, data_interval_end=None, "
    "[airflow.models.dagrun.DagRun] loc=dagrun.py:1315"
)


def test_the_scheduler_heartbeat_counts_a_line_only_the_scheduler_logs_every_5_minutes(render):
    from airflow.configuration import conf
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    rendered = render("airflow", "prod")
    heartbeat = filters(rendered)["SchedulerHeartbeatMetricFilter"]
    assert heartbeat["LogGroupName"] == {"Ref": "ComponentLogGroup"}
    assert quoted_terms_match(heartbeat["FilterPattern"], SCHEDULER_LINE)
    # what the installed Airflow logs, at INFO, from the scheduler's periodic orphan check
    source = inspect.getsource(SchedulerJobRunner.adopt_or_reset_orphaned_tasks)
    phrase = re.findall(r'"([^"]+)"', heartbeat["FilterPattern"])[0]
    assert f'self.log.info("{phrase} for active dag runs")' in source
    assert "orphaned_tasks_check_interval" in inspect.getsource(
        SchedulerJobRunner._run_scheduler_loop
    )
    interval = conf.getfloat("scheduler", "orphaned_tasks_check_interval")
    assert interval == 300.0  # the components do not change it (no AIRFLOW__SCHEDULER__ variable)
    for found in containers(rendered).values():
        for container in found:
            assert not [v for v in env(container) if v.startswith("AIRFLOW__SCHEDULER__")]
    # at least two lines missed before the alarm, whatever the parameter's value
    minimum = rendered.template["Parameters"]["AlarmSchedulerSilentMinutes"]["MinValue"]
    assert minimum * 60 >= 2 * interval


def test_dag_run_failures_count_the_schedulers_finished_line_of_failed_runs(render):
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState

    failures = filters(render("airflow", "prod"))["DagRunFailuresMetricFilter"]
    assert failures["LogGroupName"] == {"Ref": "ComponentLogGroup"}
    source = inspect.getsource(DagRun.update_state)
    assert '"DagRun Finished: dag_id=%s, ' in source and '"state=%s, run_type=%s, "' in source
    assert str(DagRunState.FAILED) == "failed" and str(DagRunState.SUCCESS) == "success"
    pattern = failures["FilterPattern"]
    assert quoted_terms_match(pattern, FINISHED_LINE.format(state="failed"))
    assert not quoted_terms_match(pattern, FINISHED_LINE.format(state="success"))
    assert not quoted_terms_match(pattern, SCHEDULER_LINE)


def test_task_log_errors_count_json_lines_at_error_level(render):
    """Remote task logs reach CloudWatch as the structlog event dict in JSON (the provider's
    reader parses them so), with the level structlog adds before the remote handler sees it."""
    import structlog
    from airflow.providers.amazon.aws.log.cloudwatch_task_handler import CloudWatchRemoteLogIO
    from airflow.sdk._shared.logging.structlog import structlog_processors

    errors = filters(render("airflow", "prod"))["TaskLogErrorsMetricFilter"]
    assert errors["LogGroupName"] == {"Ref": "TaskLogGroup"}
    assert errors["FilterPattern"] == '{ $.level = "error" || $.level = "critical" }'
    assert "json.loads(event_msg)" in inspect.getsource(
        CloudWatchRemoteLogIO._parse_log_event_as_dumped_json
    )
    processors, _, _ = structlog_processors(json_output=True)
    assert structlog.processors.add_log_level in processors
    event = structlog.processors.add_log_level(None, "exception", {"event": "boom"})
    assert event["level"] == "error"


def test_every_metric_filter_publishes_one_count_per_line_to_the_stacks_namespace(airflow):
    found = filters(airflow)
    assert set(found) == {
        "SchedulerHeartbeatMetricFilter",
        "TaskLogErrorsMetricFilter",
        "DagRunFailuresMetricFilter",
    }
    for name, metric_filter in found.items():
        (transformation,) = metric_filter["MetricTransformations"]
        assert transformation["MetricNamespace"] == NAMESPACE, name
        assert transformation["MetricValue"] == "1" and "DefaultValue" not in transformation


# --- Alarms ------------------------------------------------------------------------------------


def service_dimensions(service):
    return [
        {"Name": "ClusterName", "Value": CLUSTER},
        {"Name": "ServiceName", "Value": {"Fn::GetAtt": [service, "Name"]}},
    ]


DATABASE = [{"Name": "DBInstanceIdentifier", "Value": {"Ref": "Database"}}]
# alarm: (namespace, metric, statistic, period, comparison, threshold, evaluation periods,
#         missing data, OK actions)
SERVICE_DOWN = (
    "AWS/ECS",
    "CPUUtilization",
    "SampleCount",
    60,
    "LessThanThreshold",
    1,
    {"Ref": "AlarmServiceDownMinutes"},
    "breaching",
    True,
)
EXPECTED = {
    "DatabaseCpuAlarm": (
        "AWS/RDS",
        "CPUUtilization",
        "Average",
        300,
        "GreaterThanThreshold",
        {"Ref": "AlarmDbCpuPercent"},
        3,
        "missing",
        True,
    ),
    "DatabaseFreeStorageAlarm": (
        "AWS/RDS",
        "FreeStorageSpace",
        "Minimum",
        300,
        "LessThanThreshold",
        {"Ref": "AlarmDbFreeStorageBytes"},
        1,
        "missing",
        True,
    ),
    "DatabaseConnectionsAlarm": (
        "AWS/RDS",
        "DatabaseConnections",
        "Maximum",
        300,
        "GreaterThanThreshold",
        {"Ref": "AlarmDbConnections"},
        2,
        "missing",
        True,
    ),
    "SchedulerHeartbeatAlarm": (
        NAMESPACE,
        "SchedulerHeartbeat",
        "Sum",
        60,
        "LessThanThreshold",
        1,
        {"Ref": "AlarmSchedulerSilentMinutes"},
        "breaching",
        True,
    ),
    "EventDeadLetterAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        300,
        "GreaterThanThreshold",
        0,
        1,
        "notBreaching",
        True,
    ),
    "TaskLogErrorsAlarm": (
        NAMESPACE,
        "TaskLogErrors",
        "Sum",
        300,
        "GreaterThanThreshold",
        {"Ref": "AlarmTaskErrorLines"},
        1,
        "notBreaching",
        False,
    ),
}
SPLIT_SERVICES = {
    "ApiServerNotRunningAlarm": ("ApiServerService", "api-server"),
    "SchedulerNotRunningAlarm": ("SchedulerService", "scheduler"),
    "DagProcessorNotRunningAlarm": ("DagProcessorService", "dag-processor"),
    "TriggererNotRunningAlarm": ("TriggererService", "triggerer"),
}
UNHEALTHY = (
    "AWS/ApplicationELB",
    "UnHealthyHostCount",
    "Maximum",
    60,
    "GreaterThanThreshold",
    0,
    {"Ref": "AlarmUnhealthyHostMinutes"},
    "notBreaching",
    True,
)


def check_alarm(rendered, name, expected, dimensions=None):
    """One alarm as written (a threshold is a parameter's Ref, or fixed), active in `rendered`."""
    assert name in alarms(rendered)
    alarm = rendered.template["Resources"][name]["Properties"]
    namespace, metric, statistic, period, comparison, threshold, periods, missing, ok = expected
    found = (
        alarm["Namespace"],
        alarm["MetricName"],
        alarm["Statistic"],
        alarm["Period"],
        alarm["ComparisonOperator"],
        alarm["Threshold"],
        alarm["EvaluationPeriods"],
        alarm["TreatMissingData"],
    )
    assert found == expected[:-1], name
    # M of N: the whole window, not one period in it
    assert alarm.get("DatapointsToAlarm", periods) == periods, name
    if dimensions is not None:
        assert alarm.get("Dimensions") == dimensions, name
    assert alarm["AlarmActions"] == TOPIC_ACTIONS, name
    assert alarm.get("OKActions") == (TOPIC_ACTIONS if ok else None), name
    assert "Metrics" not in alarm and "ExtendedStatistic" not in alarm, name
    for value in (threshold, periods):  # a parameter's, where not fixed: its value applies
        if isinstance(value, dict):
            assert value["Ref"] in rendered.template["Parameters"], (name, value)
    active = alarms(rendered)[name]
    assert active["Threshold"] == rendered.resolve(threshold), name
    assert active["EvaluationPeriods"] == rendered.resolve(periods), name


def test_prod_alarms(render):
    rendered = render("airflow", "prod")
    assert rendered.parameters["EnableAlarms"] == "true"
    expected_names = set(EXPECTED) | set(SPLIT_SERVICES) | {"ApiServerUnhealthyAlarm"}
    assert set(alarms(rendered)) == expected_names
    for name, expected in EXPECTED.items():
        dimensions = DATABASE if name.startswith("Database") else None
        check_alarm(rendered, name, expected, dimensions)
    for name, (service, service_name) in SPLIT_SERVICES.items():
        check_alarm(rendered, name, SERVICE_DOWN, service_dimensions(service))
        assert rendered.resources[service]["Properties"]["ServiceName"] == service_name
    check_alarm(
        rendered,
        "ApiServerUnhealthyAlarm",
        UNHEALTHY,
        [
            {
                "Name": "TargetGroup",
                "Value": {"Fn::GetAtt": ["ApiServerTargetGroup", "TargetGroupFullName"]},
            },
            {
                "Name": "LoadBalancer",
                "Value": {"Fn::GetAtt": ["LoadBalancer", "LoadBalancerFullName"]},
            },
        ],
    )
    # the api-server behind that load balancer is what that target group receives
    (target,) = rendered.resources["ApiServerService"]["Properties"]["LoadBalancers"]
    assert target["TargetGroupArn"] == {"Ref": "ApiServerTargetGroup"}


def test_the_custom_metric_alarms_watch_what_the_filters_publish(render):
    rendered = render("airflow", "prod")
    published = {
        (t["MetricNamespace"]["Fn::Sub"], t["MetricName"])
        for f in filters(rendered).values()
        for t in f["MetricTransformations"]
    }
    for name in ("SchedulerHeartbeatAlarm", "TaskLogErrorsAlarm"):
        alarm = alarms(rendered)[name]
        assert (alarm["Namespace"]["Fn::Sub"], alarm["MetricName"]) in published
        assert "Dimensions" not in alarm  # the filters publish none


def test_the_dead_letter_alarm_watches_the_storage_stacks_dead_letter_queue(render):
    rendered, storage = render("airflow", "prod"), render("storage")
    (dimension,) = alarms(rendered)["EventDeadLetterAlarm"]["Dimensions"]
    assert dimension["Name"] == "QueueName"
    imported = {"Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-EventDeadLetterQueueArn"}}
    assert dimension["Value"] == {"Fn::Select": [5, {"Fn::Split": [":", imported]}]}
    # the name storage.yml gives the queue, read back from the ARN its export holds
    name = evaluated(storage, storage.resources["EventDeadLetterQueue"]["Properties"]["QueueName"])
    assert name == "airflow-stage-events-dlq"
    output = storage.template["Outputs"]["EventDeadLetterQueueArn"]
    assert output["Value"] == {"Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]}
    world = World(
        pseudo_parameters("airflow-airflow"),
        exports={"airflow-EventDeadLetterQueueArn": f"arn:aws:sqs:us-east-1:123456789012:{name}"},
    )
    assert evaluated(rendered, dimension["Value"], world) == name


def test_the_combined_layout_watches_its_one_service_and_has_no_load_balancer_alarm(render):
    rendered = render("airflow", "dev", EnableAlarms="true")
    assert set(alarms(rendered)) == set(EXPECTED) | {"CombinedNotRunningAlarm"}
    check_alarm(
        rendered, "CombinedNotRunningAlarm", SERVICE_DOWN, service_dimensions("CombinedService")
    )
    assert rendered.resources["CombinedService"]["Properties"]["ServiceName"] == "airflow"


def test_prod_with_its_load_balancer_in_the_combined_layout_watches_the_target_group(render):
    found = alarms(render("airflow", "prod", Layout="combined"))
    assert {"CombinedNotRunningAlarm", "ApiServerUnhealthyAlarm"} <= set(found)
    assert not set(SPLIT_SERVICES) & set(found)


@pytest.mark.parametrize(("profile", "parameters"), VARIANTS, ids=["prod", "dev", "prod-ecs"])
def test_enable_alarms_false_removes_the_alarms_only(render, profile, parameters):
    on = render("airflow", profile, EnableAlarms="true", **parameters).resources
    off = render("airflow", profile, EnableAlarms="false", **parameters).resources
    assert [r for r in on.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert not [r for r in off.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    kept = {n for n, r in on.items() if r["Type"] != "AWS::CloudWatch::Alarm"}
    assert set(off) == kept  # the topic, its key and policy, the filters, the dashboard stay
    assert {"AlertTopic", "AlertKey", "AlertTopicPolicy", "Dashboard"} <= kept


def test_profiles_turn_alarms_on_for_prod_and_off_for_dev(render):
    assert render("airflow", "prod").parameters["EnableAlarms"] == "true"
    assert render("airflow", "dev").parameters["EnableAlarms"] == "false"
    assert not alarms(render("airflow", "dev"))


def test_alarm_windows_outlast_a_deploys_migration(raw):
    """A deploy that migrates stops the services (DesiredCount 0), runs the migration, starts
    them again: 5-8 minutes without a task. The defaults wait longer than that."""
    parameters = raw["airflow"]["Parameters"]
    assert parameters["AlarmServiceDownMinutes"]["Default"] >= 10
    assert parameters["AlarmSchedulerSilentMinutes"]["Default"] >= 15
    # CloudWatch evaluates at most a day: periods x period
    for name in (
        "AlarmServiceDownMinutes",
        "AlarmSchedulerSilentMinutes",
        "AlarmUnhealthyHostMinutes",
    ):
        assert parameters[name]["MaxValue"] * 60 <= 86400


# --- Dashboard ------------------------------------------------------------------------------------

TARGET_GROUP = "targetgroup/airflow/73e2d6bc24d8a067"
LOAD_BALANCER = "app/airflow-airflow/50dc6c495c0c9188"
RESOLVED_NAMES = {
    "ComponentLogGroup": "/airflow/airflow/components",
    "TaskLogGroup": "/airflow/airflow/task-logs",
    "Database": "airflow-metadata",
    "AlertTopic": "arn:aws:sns:us-east-1:123456789012:airflow-pipeline-alerts",
}


def dashboard(rendered):
    """The dashboard body as CloudFormation would pass it, parsed: every name filled in from the
    resources it names (ECS service names, the database, the log groups, the queues)."""
    resources = rendered.resources
    attributes = {
        f"{logical}.Name": r["Properties"]["ServiceName"]
        for logical, r in rendered.resources_of_type("AWS::ECS::Service").items()
    }
    attributes["AlertTopic.TopicName"] = "airflow-pipeline-alerts"
    if "LoadBalancer" in resources:
        attributes["LoadBalancer.LoadBalancerFullName"] = LOAD_BALANCER
        attributes["ApiServerTargetGroup.TargetGroupFullName"] = TARGET_GROUP
    queue = "arn:aws:sqs:us-east-1:123456789012:"
    world = World(
        pseudo_parameters("airflow-airflow"),
        refs=dict(RESOLVED_NAMES),
        attributes=attributes,
        exports={
            "airflow-ClusterName": "airflow-cluster",
            "airflow-EventQueueArn": queue + "airflow-stage-events",
            "airflow-EventDeadLetterQueueArn": queue + "airflow-stage-events-dlq",
        },
    )
    properties = resources["Dashboard"]["Properties"]
    assert evaluated(rendered, properties["DashboardName"], world) == "airflow-airflow"
    return json.loads(evaluated(rendered, properties["DashboardBody"], world))


def metric_rows(body):
    for widget in body["widgets"]:
        if widget["type"] == "metric":
            for row in widget["properties"]["metrics"]:
                names = [item for item in row if not isinstance(item, dict)]
                namespace, metric, *pairs = names
                yield (
                    widget["properties"]["title"],
                    namespace,
                    metric,
                    dict(zip(pairs[::2], pairs[1::2], strict=True)),
                )


@pytest.mark.parametrize(("profile", "parameters"), VARIANTS, ids=["prod", "dev", "prod-ecs"])
def test_the_dashboard_is_valid_json_naming_existing_resources(render, profile, parameters):
    rendered = render("airflow", profile, **parameters)
    body = dashboard(rendered)
    services = {
        r["Properties"]["ServiceName"]
        for r in rendered.resources_of_type("AWS::ECS::Service").values()
    }
    custom = {f["MetricTransformations"][0]["MetricName"] for f in filters(rendered).values()}
    seen = {"services": {}, "namespaces": set()}
    for title, namespace, metric, dimensions in metric_rows(body):
        seen["namespaces"].add(namespace)
        if namespace == "AWS/ECS":
            assert dimensions["ClusterName"] == "airflow-cluster", title
            seen["services"].setdefault(metric, set()).add(dimensions["ServiceName"])
        elif namespace == "AWS/RDS":
            assert dimensions == {"DBInstanceIdentifier": "airflow-metadata"}, title
        elif namespace == "AWS/SQS":
            assert dimensions["QueueName"] in {"airflow-stage-events", "airflow-stage-events-dlq"}
        elif namespace == "AWS/ApplicationELB":
            assert dimensions == {"TargetGroup": TARGET_GROUP, "LoadBalancer": LOAD_BALANCER}
        else:
            assert namespace == "airflow/Airflow" and metric in custom and not dimensions, title
    # CPU and memory of every service, against its limit (the utilization is % of the task's)
    assert seen["services"] == {"CPUUtilization": services, "MemoryUtilization": services}
    assert seen["namespaces"] >= {"AWS/ECS", "AWS/RDS", "AWS/SQS", "airflow/Airflow"}
    assert ("AWS/ApplicationELB" in seen["namespaces"]) == ("LoadBalancer" in rendered.resources)
    queries = [w["properties"]["query"] for w in body["widgets"] if w["type"] == "log"]
    assert len(queries) == 2
    for query in queries:
        assert query.startswith("SOURCE '/airflow/airflow/components' | ")
        assert "DagRun Finished" in query
    for widget in body["widgets"]:
        assert {"x", "y", "width", "height"} <= set(widget)
        assert widget["x"] + widget["width"] <= 24
        if widget["type"] != "text":
            assert widget["properties"]["region"] == "us-east-1"
    assert "airflow-pipeline-alerts" in body["widgets"][0]["properties"]["markdown"]


def test_the_dashboards_duration_query_reads_the_finished_line(render):
    """The table's regular expression (Logs Insights' named groups) on the scheduler's line."""
    (table,) = [
        widget
        for widget in dashboard(render("airflow", "prod"))["widgets"]
        if widget["type"] == "log" and widget["properties"]["view"] == "table"
    ]
    (regex,) = re.findall(r"parse @message /(.+?)/ \|", table["properties"]["query"])
    found = re.search(regex.replace("(?<", "(?P<"), FINISHED_LINE.format(state="failed"))
    assert found.groupdict() == {"dag_id": "snowflake_raw", "seconds": "59.2", "state": "failed"}


def test_the_dashboard_url_is_exported(render):
    output = render("airflow", "prod").template["Outputs"]["DashboardUrl"]
    assert "${Dashboard}" in output["Value"]["Fn::Sub"]
    assert output["Export"]["Name"] == {"Fn::Sub": "${EnvironmentName}-DashboardUrl"}
