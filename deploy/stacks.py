"""Deploy one stack through a change set, with progress, changing nothing when nothing changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from deploy import templates

STACKS_IN_ORDER = templates.STACKS

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")
FAILED = (
    "ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "CREATE_FAILED",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_FAILED",
)

# A first creation that never completed: rolled back (every resource gone but the retained ones),
# or a CREATE change set never executed. Such a stack can be neither updated nor waited on, only
# deleted; it holds no database, so no deletion protection applies.
NEVER_CREATED = ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS")


class StackError(RuntimeError):
    """A stack could not be deployed or deleted; the message names the stack and the reason."""


def stack_name(environment_name: str, stack: str) -> str:
    return f"{environment_name}-{stack}"


def describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        (stack,) = client.describe_stacks(StackName=name)["Stacks"]
    except client.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return None if stack["StackStatus"] == "DELETE_COMPLETE" else stack


def is_live(stack: dict[str, Any] | None) -> bool:
    """The stack exists and was created at least once (it can be updated)."""
    return bool(stack) and stack["StackStatus"] not in NEVER_CREATED


def outputs(client: Any, name: str) -> dict[str, str]:
    stack = describe(client, name) or {}
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _same_template(client: Any, name: str, body: str) -> bool:
    deployed = client.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    if isinstance(deployed, str):
        return templates.parse(deployed) == templates.parse(body)
    return deployed == templates.parse(body)


def parameters(stack: dict[str, Any] | None) -> dict[str, str]:
    """A described stack's parameter values by name (none for an absent stack)."""
    return {
        p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters", [])
    }


def _same_parameters(stack: dict[str, Any], wanted: dict[str, str]) -> bool:
    deployed = parameters(stack)
    return all(deployed.get(key, "") == value for key, value in wanted.items())


def _wait_change_set(client: Any, name: str, change_set: str, poll: float) -> dict[str, Any]:
    while True:
        found = client.describe_change_set(StackName=name, ChangeSetName=change_set)
        if found["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return found
        time.sleep(poll)


def _wait_stack(client: Any, name: str, say: Callable[[str], None], poll: float) -> str:
    seen: set[str] = set()
    while True:
        stack = describe(client, name)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        try:
            events = client.describe_stack_events(StackName=name)["StackEvents"]
        except client.exceptions.ClientError:
            events = []
        for event in reversed(events):
            if event["EventId"] not in seen:
                seen.add(event["EventId"])
                reason = (
                    f" ({event['ResourceStatusReason']})"
                    if event.get("ResourceStatusReason")
                    else ""
                )
                say(f"    {event['LogicalResourceId']}: {event['ResourceStatus']}{reason}")
        if not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
            return status  # REVIEW_IN_PROGRESS waits for a person, not for CloudFormation
        time.sleep(poll)


def deploy(
    client: Any,
    environment_name: str,
    stack: str,
    parameters: dict[str, str],
    say: Callable[[str], None] = print,
    poll: float = 5.0,
) -> tuple[str, dict[str, str]]:
    """Create or update `stack` with `parameters`. Returns (what happened, outputs)."""
    name = stack_name(environment_name, stack)
    existing = describe(client, name)
    if existing and not is_live(existing):
        say(
            f"  {name}: its first creation never completed ({existing['StackStatus']}); "
            "deleting it, then creating it again"
        )
        _delete(client, name, say, poll)
        existing = None
    body = templates.template_path(stack).read_text()
    if existing and _same_template(client, name, body) and _same_parameters(existing, parameters):
        say(f"  {name}: no changes")
        return "unchanged", outputs(client, name)
    change_set = f"deploy-{int(time.time())}"
    client.create_change_set(
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType="UPDATE" if existing else "CREATE",
        TemplateBody=body,
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Tags=[{"Key": "project", "Value": "airflow-snowflake-fargate"}],
    )
    found = _wait_change_set(client, name, change_set, poll)
    if found["Status"] == "FAILED":
        reason = found.get("StatusReason", "")
        client.delete_change_set(StackName=name, ChangeSetName=change_set)
        if any(marker in reason for marker in NO_CHANGES):
            say(f"  {name}: no changes")
            return "unchanged", outputs(client, name)
        raise StackError(f"{name}: change set failed: {reason}")
    changes = found.get("Changes", [])
    say(f"  {name}: {'creating' if not existing else 'updating'} ({len(changes)} change(s))")
    client.execute_change_set(StackName=name, ChangeSetName=change_set)
    status = _wait_stack(client, name, say, poll)
    if status not in DONE:
        raise StackError(f"{name} ended in {status}; the events above say which resource failed")
    return ("created" if not existing else "updated"), outputs(client, name)


def delete(client: Any, environment_name: str, stack: str, say=print, poll: float = 5.0) -> str:
    name = stack_name(environment_name, stack)
    if not describe(client, name):
        say(f"  {name}: absent")
        return "absent"
    _delete(client, name, say, poll)
    return "deleted"


def _delete(client: Any, name: str, say: Callable[[str], None], poll: float) -> None:
    client.delete_stack(StackName=name)
    status = _wait_stack(client, name, say, poll)
    if status != "DELETE_COMPLETE":
        raise StackError(f"{name} could not be deleted ({status}); see the events above")
