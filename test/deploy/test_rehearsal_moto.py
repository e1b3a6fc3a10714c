"""Guard of the rehearsal's moto patches (deploy/rehearsal/moto_server.py): ECS answers as the
ECS executor needs. Run in a fresh process: the patches change moto's classes for good."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from deploy.rehearsal import moto_server

PROBE = textwrap.dedent(
    """
    import json, runpy, sys
    import boto3
    from moto import mock_aws
    runpy.run_path(sys.argv[1])  # the patches, not the server (run_name is not __main__)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="g", Description="d", VpcId=vpc)["GroupId"]
        ecs = boto3.client("ecs", region_name="us-east-1")
        ecs.create_cluster(clusterName="c")
        found = {}
        try:
            ecs.stop_task(cluster="c", task="a" * 32)  # the executor's health check
        except ecs.exceptions.ClientError as error:
            found["health"] = [error.response["Error"]["Code"], str(error)]
        arn = ecs.register_task_definition(
            family="w", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="1024",
            containerDefinitions=[{"name": "worker", "image": "i", "memory": 1024}],
        )["taskDefinition"]["taskDefinitionArn"]
        task = ecs.run_task(
            cluster="c", taskDefinition=arn, launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet],
                                                          "securityGroups": [group]}},
        )["tasks"][0]["taskArn"]
        for _ in range(6):  # unpatched, a task leaves RUNNING after a few of these
            described = ecs.describe_tasks(cluster="c", tasks=[task])["tasks"][0]
        found["running"] = [described["lastStatus"], "startedAt" in described]
        ecs.stop_task(cluster="c", task=task, reason="Essential container in task exited (3)")
        described = ecs.describe_tasks(cluster="c", tasks=[task])["tasks"][0]
        found["stopped"] = [described["lastStatus"], described["desiredStatus"],
                            [c["exitCode"] for c in described["containers"]]]
    print(json.dumps(found))
    """
)


def test_ecs_answers_as_the_ecs_executor_needs():
    done = subprocess.run(
        [sys.executable, "-c", PROBE, moto_server.__file__],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    code, message = found["health"]
    assert code == "InvalidParameterException" and "task was not found" in message
    assert found["running"] == ["RUNNING", True]
    assert found["stopped"] == ["STOPPED", "STOPPED", [3]]
