"""Across the three stacks: imports match exports, every parameter is used, names are consistent."""

from __future__ import annotations

import json

import pytest

from deploy import templates


def walk(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def export_names(template) -> set[str]:
    return {
        output["Export"]["Name"]["Fn::Sub"]
        for output in template.get("Outputs", {}).values()
        if "Export" in output
    }


def test_every_import_matches_an_export_of_an_earlier_stack(raw):
    exported: dict[str, str] = {}
    for stack in templates.STACKS:
        imports = {
            node["Fn::ImportValue"]["Fn::Sub"]
            for node in walk(raw[stack])
            if isinstance(node, dict) and "Fn::ImportValue" in node
        }
        missing = imports - set(exported)
        assert not missing, f"{stack}.yml imports {sorted(missing)}, exported by no earlier stack"
        for name in export_names(raw[stack]):
            assert name not in exported, f"{name} exported by {exported.get(name)} and {stack}"
            exported[name] = stack
    assert {"${EnvironmentName}-VpcId", "${EnvironmentName}-StageBucketArn"} <= set(exported)


@pytest.mark.parametrize("stack", templates.STACKS)
def test_exports_are_prefixed_with_the_environment_and_named_after_the_output(raw, stack):
    for name, output in raw[stack].get("Outputs", {}).items():
        assert output["Export"]["Name"] == {"Fn::Sub": "${EnvironmentName}-" + name}


@pytest.mark.parametrize("stack", templates.STACKS)
def test_every_parameter_is_used(raw, stack):
    template = raw[stack]
    body = json.dumps({k: v for k, v in template.items() if k not in ("Parameters", "Metadata")})
    for name in template["Parameters"]:
        assert f'"Ref": "{name}"' in body or "${" + name + "}" in body, f"{stack}: {name} unused"


@pytest.mark.parametrize("stack", templates.STACKS)
def test_every_stack_shares_the_environment_name_parameter(raw, stack):
    spec = raw[stack]["Parameters"]["EnvironmentName"]
    assert spec["Default"] == "airflow"
    assert (
        spec["AllowedPattern"] == raw["network"]["Parameters"]["EnvironmentName"]["AllowedPattern"]
    )


@pytest.mark.parametrize("profile", ["prod", "dev"])
def test_profile_network_and_task_placement_agree(render, profile):
    """Private tasks need the NAT gateway; without one, tasks must be public to reach AWS APIs."""
    nat = render("network", profile).parameters["NatGateway"]
    placement = render("airflow", profile).parameters["TaskPlacement"]
    assert (nat, placement) in {("one", "private"), ("none", "public")}
