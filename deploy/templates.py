"""Read the CloudFormation templates and evaluate them for one profile, offline.

CloudFormation decides conditions and `Fn::If` branches from parameter values. The cost estimator
and the template tests need the same answer without AWS, so this evaluates the subset the
templates use (Equals, Not, And, Or, Condition, If, Ref to parameters, and Select and Split
inside Equals) and leaves every other intrinsic function as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "cloudformation"
STACKS = ("network", "storage", "airflow")  # in deployment order
NO_VALUE = object()  # what {"Ref": "AWS::NoValue"} resolves to, dropped from lists and maps


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML loader that turns short tags into the long form: !Sub x -> {"Fn::Sub": "x"}.
    On libyaml's parser where PyYAML has it: airflow.yml in 0.03 s of CPU instead of 0.19."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def template_path(stack: str) -> Path:
    return TEMPLATE_DIR / f"{stack}.yml"


def parse(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 # nosec B506 - a SafeLoader subclass


def load(stack: str) -> dict[str, Any]:
    return parse(template_path(stack).read_text())


def parameter_values(template: dict[str, Any], overrides: dict[str, Any]) -> dict[str, str]:
    """Each parameter's value as CloudFormation passes it: the override, else the default."""
    declared = template.get("Parameters", {})
    unknown = set(overrides) - set(declared)
    if unknown:
        raise KeyError(f"parameters not declared by the template: {sorted(unknown)}")
    values = {}
    for name, spec in declared.items():
        if name in overrides:
            values[name] = str(overrides[name])
        elif "Default" in spec:
            values[name] = str(spec["Default"])
    return values


class Rendered:
    """A template evaluated for one set of parameter values."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, Any] | None = None):
        self.template = template
        self.parameters = parameter_values(template, overrides or {})
        self._conditions: dict[str, bool] = {}
        self.conditions = {name: self.condition(name) for name in template.get("Conditions", {})}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._evaluate(self.template["Conditions"][name])
        return self._conditions[name]

    def _evaluate(self, expression: Any) -> Any:
        if not isinstance(expression, dict) or len(expression) != 1:
            return expression
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (self._scalar(value) for value in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self._evaluate(argument[0])
        if function == "Fn::And":
            return all(self._evaluate(value) for value in argument)
        if function == "Fn::Or":
            return any(self._evaluate(value) for value in argument)
        raise ValueError(f"unsupported condition function {function}")

    def broken_rules(self) -> list[str]:
        """The AssertDescription of every rule CloudFormation would refuse these parameters by,
        then of every deploy rule (Metadata.DeployRules: what a Rule cannot state) they break."""
        broken = []
        for rule in self.template.get("Rules", {}).values():
            if "RuleCondition" in rule and not self._evaluate(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self._evaluate(assertion["Assert"]):
                    broken.append(" ".join(assertion["AssertDescription"].split()))
        for rule in self.template.get("Metadata", {}).get("DeployRules", {}).values():
            if self.condition(rule["WhenCondition"]) and not self.parameters[rule["NotEmpty"]]:
                broken.append(" ".join(rule["AssertDescription"].split()))
        return broken

    def _scalar(self, value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            return value
        ((function, argument),) = value.items()
        if function == "Ref" and argument in self.parameters:
            return self.parameters[argument]
        if function == "Fn::Split":
            separator, text = argument
            return str(self._scalar(text)).split(separator)
        if function == "Fn::Select":
            index, items = argument
            return self._scalar(items)[int(index)]
        return value

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources CloudFormation would create, with If/Ref-to-parameter resolved."""
        active = {}
        for name, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            active[name] = self.resolve(resource)
        return active

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {n: r for n, r in self.resources.items() if r["Type"] == resource_type}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition(name) else when_false)
            if function == "Ref":
                if argument == "AWS::NoValue":
                    return NO_VALUE
                if argument in self.parameters:
                    return self.parameters[argument]
        items = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}


# Where Airflow runs alert callbacks: DAG-level failure callbacks in the dag-processor, task-level
# ones in the task's process (LocalExecutor's in the scheduler's task, the ECS executor's in a
# worker) and Deadline Alert callbacks in the triggerer. The roles of these tasks may publish.
CALLBACK_CONTAINERS = frozenset({"dag-processor", "airflow-worker", "triggerer"})


def runs_callbacks(container_names: set[str], executor: str) -> bool:
    """Whether a task with these containers runs alert callbacks under `executor`."""
    local = executor == "LocalExecutor"
    return bool(container_names & CALLBACK_CONTAINERS or (local and "scheduler" in container_names))


def containers(rendered: Rendered) -> dict[str, list[dict[str, Any]]]:
    """Container definitions by container name, over every active task definition."""
    found: dict[str, list[dict[str, Any]]] = {}
    for task in rendered.resources_of_type("AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            found.setdefault(container["Name"], []).append(container)
    return found


def environment(container: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in container.get("Environment", [])}


def secrets(container: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["ValueFrom"] for item in container.get("Secrets", [])}
