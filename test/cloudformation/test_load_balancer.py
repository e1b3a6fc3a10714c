"""Ingress: the load balancer (prod) or the api-server task (dev), from AllowedCidr only."""

from __future__ import annotations

import re

import pytest

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666"


def cidr_pattern(raw):
    return re.compile(raw["airflow"]["Parameters"]["AllowedCidr"]["AllowedPattern"])


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "0.0.0.0/1", "10.0.0.0/7", "1.2.3.4", "::/0"])
def test_allowed_cidr_refuses_the_world(raw, cidr):
    assert not cidr_pattern(raw).fullmatch(cidr)


@pytest.mark.parametrize("cidr", ["203.0.113.7/32", "10.0.0.0/8", "192.168.1.0/24"])
def test_allowed_cidr_accepts_networks(raw, cidr):
    assert cidr_pattern(raw).fullmatch(cidr)


def test_allowed_cidr_has_no_default(raw):
    assert "Default" not in raw["airflow"]["Parameters"]["AllowedCidr"]


def test_prod_load_balancer_is_public_and_reachable_only_from_allowed_cidr(render):
    rendered = render("airflow", "prod")
    lb = rendered.resources["LoadBalancer"]["Properties"]
    assert lb["Scheme"] == "internet-facing"
    assert lb["Subnets"]["Fn::Split"][1] == {
        "Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-PublicSubnetIds"}
    }
    (ingress,) = rendered.resources["LoadBalancerSecurityGroup"]["Properties"][
        "SecurityGroupIngress"
    ]
    assert (ingress["CidrIp"], ingress["FromPort"]) == ("203.0.113.7/32", 80)


def test_https_when_a_certificate_is_given(render):
    rendered = render("airflow", "prod", CertificateArn=CERT)
    assert "HttpListener" not in rendered.resources
    listener = rendered.resources["HttpsListener"]["Properties"]
    assert listener["Protocol"] == "HTTPS" and listener["Certificates"] == [
        {"CertificateArn": CERT}
    ]
    (ingress,) = rendered.resources["LoadBalancerSecurityGroup"]["Properties"][
        "SecurityGroupIngress"
    ]
    assert ingress["FromPort"] == ingress["ToPort"] == 443


def test_target_group_checks_the_api_server_health(render):
    group = render("airflow", "prod").resources["ApiServerTargetGroup"]["Properties"]
    assert group["HealthCheckPath"] == "/api/v2/monitor/health"
    assert (group["TargetType"], group["Port"]) == ("ip", 8080)


def test_dev_opens_port_8080_to_allowed_cidr_only(render):
    rendered = render("airflow", "dev")
    assert "LoadBalancer" not in rendered.resources
    ingress = rendered.resources_of_type("AWS::EC2::SecurityGroupIngress")
    cidrs = {r["Properties"].get("CidrIp") for r in ingress.values()} - {None}
    assert cidrs == {"203.0.113.7/32"}


@pytest.mark.parametrize("profile", ["prod", "dev"])
def test_no_world_ingress_in_any_profile(render, profile):
    rendered = render("airflow", profile)
    rules = [
        r["Properties"]
        for r in rendered.resources_of_type("AWS::EC2::SecurityGroupIngress").values()
    ]
    for group in rendered.resources_of_type("AWS::EC2::SecurityGroup").values():
        rules += group["Properties"].get("SecurityGroupIngress", [])
    assert rules
    assert not [r for r in rules if r.get("CidrIp") == "0.0.0.0/0" or r.get("CidrIpv6") == "::/0"]


def test_a_load_balancer_free_profile_must_place_tasks_publicly(raw):
    rule = raw["airflow"]["Rules"]["UiNeedsAWayIn"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "UseLoadBalancer"}, "disabled"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "TaskPlacement"}, "public"]}


def test_load_balancer_egress_is_only_the_api_server(render):
    """A group without egress rules gets AWS's allow-all; a loopback rule replaces it."""
    rendered = render("airflow", "prod")
    (placeholder,) = rendered.resources["LoadBalancerSecurityGroup"]["Properties"][
        "SecurityGroupEgress"
    ]
    assert (placeholder["IpProtocol"], placeholder["CidrIp"]) == ("-1", "127.0.0.1/32")
    rule = rendered.resources["LoadBalancerToApiServer"]["Properties"]
    assert (rule["FromPort"], rule["ToPort"]) == (8080, 8080)
    assert rule["DestinationSecurityGroupId"] == {"Ref": "ServiceSecurityGroup"}
