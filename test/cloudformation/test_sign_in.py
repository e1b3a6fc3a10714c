"""Production sign-in: the FAB auth manager, an admin from Secrets Manager, HTTPS unless opted out,
proxy headers and the base URL behind the load balancer."""

from __future__ import annotations

import pytest

from deploy.templates import containers, secrets
from deploy.templates import environment as env

FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


@pytest.mark.parametrize("profile", ["prod", "dev"])
def test_every_component_uses_the_fab_auth_manager(render, profile):
    """SimpleAuthManager "should not be used in production" and prints its generated password."""
    for name, found in containers(render("airflow", profile)).items():
        for container in found:
            assert env(container)["AIRFLOW__CORE__AUTH_MANAGER"] == FAB, name


def test_only_the_migration_reads_the_admin_secret(render):
    rendered = render("airflow", "prod", Executor="AwsEcsExecutor")
    readers = {
        name
        for name, found in containers(rendered).items()
        for container in found
        if any("AdminSecret" in str(v) for v in secrets(container).values())
    }
    assert readers == {"db-migrate"}
    (migrate,) = containers(rendered)["db-migrate"]
    assert secrets(migrate)["ADMIN_PASSWORD"] == {"Fn::Sub": "${AdminSecret}:password::"}
    generated = rendered.resources["AdminSecret"]["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password"
    assert generated["PasswordLength"] >= 20


def test_the_migration_creates_the_admin_from_the_secret_without_the_value_in_the_template(render):
    (migrate,) = containers(render("airflow", "prod"))["db-migrate"]
    shell, flag, script = migrate["Command"]
    assert (shell, flag) == ("bash", "-c")
    assert script.startswith("airflow db migrate && airflow users create --role Admin")
    assert '--username "$ADMIN_USERNAME"' in script
    assert '--password "$ADMIN_PASSWORD"' in script  # expanded by bash in the task, from Secrets


def test_behind_the_load_balancer_the_api_server_trusts_its_forwarded_headers(render):
    for name in ("prod", "dev"):
        (api,) = containers(render("airflow", name))["api-server"]
        behind = name == "prod"  # dev has no load balancer
        assert ("--proxy-headers" in api["Command"]) is behind
        assert ("FORWARDED_ALLOW_IPS" in env(api)) is behind
    (api,) = containers(render("airflow", "prod"))["api-server"]
    assert env(api)["FORWARDED_ALLOW_IPS"] == "*"  # its security group admits the balancer only


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"AllowPlainHttp": "true"}, {"Fn::Sub": "http://${LoadBalancer.DNSName}"}),
        (
            {"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"},
            {"Fn::Sub": "https://${LoadBalancer.DNSName}"},
        ),
        (
            {
                "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                "PublicHostname": "airflow.example.com",
            },
            {"Fn::Sub": "https://${PublicHostname}"},
        ),
    ],
)
def test_base_url_follows_the_certificate_and_the_host_name(render, parameters, expected):
    (api,) = containers(render("airflow", "prod", **parameters))["api-server"]
    assert env(api)["AIRFLOW__API__BASE_URL"] == expected


def test_a_load_balancer_without_a_certificate_needs_an_explicit_opt_out(raw):
    rule = raw["airflow"]["Rules"]["HttpsUnlessOptedOut"]
    assert rule["RuleCondition"] == {
        "Fn::And": [
            {"Fn::Equals": [{"Ref": "UseLoadBalancer"}, "enabled"]},
            {"Fn::Equals": [{"Ref": "CertificateArn"}, ""]},
        ]
    }
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AllowPlainHttp"}, "true"]}
    assert raw["airflow"]["Parameters"]["AllowPlainHttp"]["Default"] == "false"
