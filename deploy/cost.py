"""Monthly on-demand cost of a profile, resource by resource, from the rendered templates.

Sizes, counts and switches come from the templates evaluated for the profile (what CloudFormation
would create), prices from the dated table beside this module. With the pipeline idle: usage
charges (load balancer capacity units, logs, storage) use the table's stated idle assumptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy import profiles, templates

PRICES = Path(__file__).with_name("prices_us_east_1.json")
# Placeholders for the parameters that have no default: they do not change the cost.
PLACEHOLDERS = {
    "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow/airflow:estimate",
    "AirflowCoreSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:estimate-AbCdEf",
    "AllowedCidr": "203.0.113.7/32",
}


@dataclass(frozen=True)
class LineItem:
    resource: str
    detail: str
    usd_month: float


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    return json.loads(path.read_text())


def render_profile(profile: str) -> dict[str, templates.Rendered]:
    rendered = {}
    for stack in templates.STACKS:
        values = dict(PLACEHOLDERS) if stack == "airflow" else {}
        values.update(profiles.overrides(profile, stack))
        rendered[stack] = templates.Rendered(templates.load(stack), values)
    return rendered


def fargate_hour(prices: dict[str, Any], arch: str, cpu_units: int, memory_mib: int) -> float:
    rate = prices["fargate"][arch]
    return cpu_units / 1024 * rate["vcpu_hour"] + memory_mib / 1024 * rate["gb_hour"]


def _services(airflow: templates.Rendered, prices: dict[str, Any]) -> list[LineItem]:
    hours = prices["hours_per_month"]
    tasks = airflow.resources_of_type("AWS::ECS::TaskDefinition")
    items = []
    for service in airflow.resources_of_type("AWS::ECS::Service").values():
        props = service["Properties"]
        count = int(props["DesiredCount"])
        task = tasks[props["TaskDefinition"]["Ref"]]["Properties"]
        cpu, memory = int(task["Cpu"]), int(task["Memory"])
        arch = task["RuntimePlatform"]["CpuArchitecture"]
        cost = count * fargate_hour(prices, arch, cpu, memory) * hours
        items.append(
            LineItem(
                f"Fargate service {props['ServiceName']}",
                f"{count} x {cpu / 1024:g} vCPU / {memory / 1024:g} GB {arch}",
                cost,
            )
        )
        public = props["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"]
        if public == "ENABLED":
            items.append(_public_ipv4(props["ServiceName"], count, prices))
    return items


def _public_ipv4(owner: str, addresses: int, prices: dict[str, Any]) -> LineItem:
    monthly = addresses * prices["public_ipv4_hour"] * prices["hours_per_month"]
    return LineItem(f"Public IPv4 of {owner}", f"{addresses} address(es)", monthly)


def _database(airflow: templates.Rendered, prices: dict[str, Any]) -> list[LineItem]:
    hours = prices["hours_per_month"]
    items = []
    for db in airflow.resources_of_type("AWS::RDS::DBInstance").values():
        props = db["Properties"]
        copies = 2 if str(props["MultiAZ"]).lower() == "true" else 1
        klass, storage = props["DBInstanceClass"], int(props["AllocatedStorage"])
        if klass not in prices["rds_postgres_instance_hour"]:
            raise KeyError(
                f"no price for {klass} in {PRICES.name}; add it to rds_postgres_instance_hour"
            )
        instance = copies * prices["rds_postgres_instance_hour"][klass] * hours
        multi = " Multi-AZ" if copies == 2 else ""
        items.append(LineItem("RDS PostgreSQL", f"{klass}{multi}", instance))
        items.append(
            LineItem(
                "RDS storage", f"{storage} GB gp3", copies * storage * prices["rds_gp3_gb_month"]
            )
        )
    # the stack's own secrets (database master user, UI admin), beside the deploy's core secret
    for logical in airflow.resources_of_type("AWS::SecretsManager::Secret"):
        items.append(LineItem("Secrets Manager", logical, prices["secrets_manager_secret_month"]))
    return items


def _load_balancer(
    airflow: templates.Rendered, network: templates.Rendered, prices: dict[str, Any]
) -> list[LineItem]:
    hours = prices["hours_per_month"]
    idle = prices["idle_assumptions"]
    items = []
    for lb in airflow.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").values():
        fixed = prices["alb_hour"] + idle["alb_lcu"] * prices["alb_lcu_hour"]
        items.append(
            LineItem("Application Load Balancer", f"{idle['alb_lcu']} LCU idle", fixed * hours)
        )
        if lb["Properties"]["Scheme"] == "internet-facing":
            # one public address per public subnet (Availability Zone) the load balancer spans
            addresses = len(
                [n for n in network.resources_of_type("AWS::EC2::Subnet") if n.startswith("Public")]
            )
            items.append(_public_ipv4("the load balancer", addresses, prices))
    return items


def _network(network: templates.Rendered, prices: dict[str, Any]) -> list[LineItem]:
    hours = prices["hours_per_month"]
    items = []
    nats = network.resources_of_type("AWS::EC2::NatGateway")
    if nats:
        items.append(
            LineItem(
                "NAT gateway", f"{len(nats)} (idle)", len(nats) * prices["nat_gateway_hour"] * hours
            )
        )
    eips = network.resources_of_type("AWS::EC2::EIP")
    if eips:
        items.append(
            LineItem(
                "Public IPv4 of the NAT gateway",
                f"{len(eips)} address(es)",
                len(eips) * prices["public_ipv4_hour"] * hours,
            )
        )
    return items


def _service_discovery(airflow: templates.Rendered, prices: dict[str, Any]) -> list[LineItem]:
    namespaces = airflow.resources_of_type("AWS::ServiceDiscovery::PrivateDnsNamespace")
    if not namespaces:
        return []
    return [
        LineItem(
            "Cloud Map",
            "private DNS namespace + api-server instance",
            len(namespaces)
            * (prices["cloud_map_hosted_zone_month"] + prices["cloud_map_instance_month"]),
        )
    ]


def _usage(profile: str, airflow: templates.Rendered, prices: dict[str, Any]) -> list[LineItem]:
    idle = prices["idle_assumptions"]
    logs_gb = idle["log_ingest_gb_month"][profile]
    retention_days = int(airflow.parameters["LogRetentionDays"])
    stored_gb = logs_gb * min(retention_days, 30) / 30  # steady state: retention's worth of logs
    return [
        # the secret holding the Fernet key, JWT secret and API secret key (one secret, three keys)
        LineItem("Secrets Manager", "Airflow core secret", prices["secrets_manager_secret_month"]),
        LineItem(
            "CloudWatch Logs",
            f"{logs_gb} GB/month ingested, {retention_days} days kept",
            logs_gb * prices["cloudwatch_logs_ingest_gb"]
            + stored_gb * prices["cloudwatch_logs_storage_gb_month"],
        ),
        LineItem(
            "ECR storage",
            f"{idle['ecr_images_gb']} GB of images",
            idle["ecr_images_gb"] * prices["ecr_storage_gb_month"],
        ),
        LineItem(
            "S3 stage", f"{idle['stage_gb']} GB", idle["stage_gb"] * prices["s3_standard_gb_month"]
        ),
    ]


def _event_queue(storage: templates.Rendered, prices: dict[str, Any]) -> list[LineItem]:
    """The stage's event queues cost only their requests: the triggerer's polling when idle."""
    queues = storage.resources_of_type("AWS::SQS::Queue")
    if not queues:
        return []
    receives = prices["idle_assumptions"]["sqs_receives_per_second"] * prices["hours_per_month"]
    millions = receives * 3600 / 1e6
    return [
        LineItem(
            "SQS event queue",
            f"{len(queues)} queues, {millions:.2f}M idle polls/month",
            millions * prices["sqs_requests_million"],
        )
    ]


def _alerts(airflow: templates.Rendered, prices: dict[str, Any]) -> list[LineItem]:
    """The pipeline alerts: the alarms, the metric filters' custom metrics, the dashboard, the
    topic's KMS key and its email notifications."""
    items = []
    alarms = airflow.resources_of_type("AWS::CloudWatch::Alarm")
    if alarms:
        items.append(
            LineItem(
                "CloudWatch alarms",
                f"{len(alarms)} standard-resolution alarms",
                len(alarms) * prices["cloudwatch_alarm_month"],
            )
        )
    metrics = {
        (t["MetricNamespace"]["Fn::Sub"], t["MetricName"])
        for f in airflow.resources_of_type("AWS::Logs::MetricFilter").values()
        for t in f["Properties"]["MetricTransformations"]
    }
    if metrics:
        items.append(
            LineItem(
                "CloudWatch custom metrics",
                f"{len(metrics)} from log metric filters",
                len(metrics) * prices["cloudwatch_custom_metric_month"],
            )
        )
    dashboards = airflow.resources_of_type("AWS::CloudWatch::Dashboard")
    if dashboards:
        free = prices["cloudwatch_free_dashboards"]
        items.append(
            LineItem(
                "CloudWatch dashboard",
                f"{len(dashboards)}; an account's first {free} are free",
                max(0, len(dashboards) - free) * prices["cloudwatch_dashboard_month"],
            )
        )
    keys = airflow.resources_of_type("AWS::KMS::Key")
    if keys:
        items.append(
            LineItem(
                "KMS key", "the alerts topic's (not aws/sns)", len(keys) * prices["kms_key_month"]
            )
        )
    if airflow.resources_of_type("AWS::SNS::Topic"):
        emails = prices["idle_assumptions"]["alert_emails_month"]
        billed = max(0, emails - prices["sns_free_emails_month"])
        items.append(
            LineItem(
                "SNS alerts topic",
                f"{emails} emails/month, first {prices['sns_free_emails_month']:,} free",
                billed / 100_000 * prices["sns_email_per_100k"],
            )
        )
    return items


def estimate(profile: str, prices: dict[str, Any] | None = None) -> list[LineItem]:
    prices = prices or load_prices()
    rendered = render_profile(profile)
    airflow = rendered["airflow"]
    return [
        *_network(rendered["network"], prices),
        *_load_balancer(airflow, rendered["network"], prices),
        *_services(airflow, prices),
        *_database(airflow, prices),
        *_service_discovery(airflow, prices),
        *_usage(profile, airflow, prices),
        *_event_queue(rendered["storage"], prices),
        *_alerts(airflow, prices),
    ]


def total(items: list[LineItem]) -> float:
    return sum(item.usd_month for item in items)


def comparisons(prices: dict[str, Any] | None = None) -> dict[str, tuple[str, float]]:
    prices = prices or load_prices()
    hours = prices["hours_per_month"]
    mwaa = prices["comparisons"]["mwaa_mw1_small"]
    old = prices["comparisons"]["old_single_task"]
    old_cost = (
        fargate_hour(prices, old["fargate_arch"], old["vcpu"] * 1024, old["memory_gb"] * 1024)
        * hours
        + old["public_ipv4"] * prices["public_ipv4_hour"] * hours
        + prices["rds_postgres_instance_hour"][old["rds_class"]] * hours
        + old["rds_gb"] * prices["rds_gp3_gb_month"]
    )
    return {
        "mwaa_mw1_small": (mwaa["label"], mwaa["hour"] * hours),
        "old_single_task": (old["label"], old_cost),
    }


def report(prices: dict[str, Any] | None = None) -> str:
    prices = prices or load_prices()
    lines = [
        f"Monthly on-demand cost, {prices['region']}, prices as of {prices['as_of']}, pipeline idle"
    ]
    totals = {}
    for profile in ("prod", "dev"):
        items = estimate(profile, prices)
        totals[profile] = total(items)
        lines += ["", f"{profile} profile", f"  {'resource':<36} {'detail':<44} {'USD/month':>10}"]
        lines += [f"  {i.resource:<36} {i.detail:<44} {i.usd_month:>10.2f}" for i in items]
        lines.append(f"  {'total':<81} {totals[profile]:>10.2f}")
    lines += ["", "compared with"]
    for label, cost in comparisons(prices).values():
        lines.append(f"  {label:<81} {cost:>10.2f}")
    return "\n".join(lines)
