"""Defect 8: a stack whose first creation never completed is deleted directly, by `destroy` and
by `deploy` (which then creates it again), instead of being given an UPDATE change set.

moto reproduces REVIEW_IN_PROGRESS (a CREATE change set never executed) but not
ROLLBACK_COMPLETE (it never rolls back a create) and lists no parameters for a stack under
review; those cases are driven with FakeCloudFormation below, which answers as real
CloudFormation does: a stack in ROLLBACK_COMPLETE or REVIEW_IN_PROGRESS keeps the parameters
it was created with, and an UPDATE change set on it is a ValidationError.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from deploy import inputs, orchestrate, stacks, templates


def _validation_error(message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationError", "Message": message}}, operation)


class FakeCloudFormation:
    """Stacks by name with a status and parameters; change sets complete at once."""

    exceptions = SimpleNamespace(ClientError=ClientError)

    def __init__(self, **stacks_by_name: dict):
        self.stacks = stacks_by_name
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    def _stack(self, name: str) -> dict:
        if name not in self.stacks:
            raise _validation_error(f"Stack with id {name} does not exist", "DescribeStacks")
        return self.stacks[name]

    def describe_stacks(self, StackName):  # noqa: N803 - boto3's argument names
        return {"Stacks": [self._stack(StackName)]}

    def describe_stack_events(self, StackName):  # noqa: N803
        return {"StackEvents": []}

    def get_template(self, StackName, TemplateStage):  # noqa: N803
        return {"TemplateBody": templates.template_path("airflow").read_text()}

    def delete_stack(self, StackName):  # noqa: N803
        self.calls.append(("delete_stack", StackName))
        del self.stacks[StackName]

    def create_change_set(self, StackName, ChangeSetName, ChangeSetType, Parameters, **_):  # noqa: N803
        self.calls.append((f"create_change_set {ChangeSetType}", StackName))
        stack = self.stacks.get(StackName)
        if ChangeSetType == "UPDATE" and stack["StackStatus"] in stacks.NEVER_CREATED:
            raise _validation_error(
                f"Stack:{StackName} is in {stack['StackStatus']} state and can not be updated.",
                "CreateChangeSet",
            )
        if ChangeSetType == "CREATE":
            self.stacks[StackName] = {
                "StackName": StackName,
                "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{next(self._ids)}",
                "StackStatus": "REVIEW_IN_PROGRESS",
                "Parameters": Parameters,
            }

    def describe_change_set(self, StackName, ChangeSetName):  # noqa: N803
        return {"Status": "CREATE_COMPLETE", "Changes": []}

    def execute_change_set(self, StackName, ChangeSetName):  # noqa: N803
        self.calls.append(("execute_change_set", StackName))
        self.stacks[StackName]["StackStatus"] = "CREATE_COMPLETE"


def failed_stack(name: str, status: str, **parameters: str) -> dict:
    return {
        "StackName": name,
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/0",
        "StackStatus": status,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    }


@pytest.mark.parametrize("status", ["ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"])
def test_destroy_deletes_a_never_created_stack_without_updating_it(aws, status):
    """The prod airflow stack failed its first create with deletion protection on: there is no
    database to protect, so destroy deletes it directly, without --delete-database."""
    fake = FakeCloudFormation(
        **{"airflow-airflow": failed_stack("airflow-airflow", status, DbDeletionProtection="true")}
    )
    clients = orchestrate.Clients(**{**vars(aws), "cloudformation": fake})
    said = []

    done = orchestrate.destroy("airflow", clients, delete_database=False, say=said.append, poll=0)

    assert fake.calls == [("delete_stack", "airflow-airflow")]
    assert done["airflow"] == "deleted" and fake.stacks == {}
    assert (done["storage"], done["network"]) == ("absent", "absent")


def test_deploy_replaces_a_stack_left_in_rollback_complete(stand_in_templates):
    """A failed first create of the network stack: deploy deletes it, then creates it again."""
    fake = FakeCloudFormation(
        **{
            "airflow-network": failed_stack(
                "airflow-network", "ROLLBACK_COMPLETE", NatGateway="one"
            )
        }
    )
    said = []

    action, _ = stacks.deploy(fake, "airflow", "network", {"NatGateway": "one"}, said.append, 0)

    assert action == "created"
    assert fake.calls == [
        ("delete_stack", "airflow-network"),
        ("create_change_set CREATE", "airflow-network"),
        ("execute_change_set", "airflow-network"),
    ]
    assert fake.stacks["airflow-network"]["StackStatus"] == "CREATE_COMPLETE"
    assert (
        "  airflow-network: its first creation never completed (ROLLBACK_COMPLETE); "
        "deleting it, then creating it again"
    ) in said


def test_deploy_recovers_a_storage_stack_whose_change_set_was_never_executed(
    aws, stand_in_templates, deploy_env
):
    """On moto: a CREATE change set left unexecuted (REVIEW_IN_PROGRESS), e.g. by an interrupted
    deploy. The next deploy deletes that stack and creates it, instead of an UPDATE change set."""
    aws.cloudformation.create_change_set(
        StackName="airflow-storage",
        ChangeSetName="interrupted",
        ChangeSetType="CREATE",
        TemplateBody=templates.template_path("storage").read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    collected = inputs.collect({"profile": "prod"}, deploy_env)
    said = []

    result = orchestrate.deploy(
        collected, aws, say=said.append, docker=False, migrate=lambda *_: None, poll=0.05
    )

    assert result["actions"]["storage"] == "created"
    (stack,) = aws.cloudformation.describe_stacks(StackName="airflow-storage")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert any("REVIEW_IN_PROGRESS" in line and "creating it again" in line for line in said)
