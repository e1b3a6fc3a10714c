"""The cost estimator: figures recomputed by hand from the price table, and the targets."""

from __future__ import annotations

import json

import pytest

from deploy import cost
from deploy.cli import main

HOURS = 730
ARM_VCPU, ARM_GB = 0.03238, 0.00356
X86_VCPU, X86_GB = 0.04048, 0.004445


def items_by_resource(profile, prices=None):
    return {item.resource: item for item in cost.estimate(profile, prices)}


def test_price_table_is_dated_and_matches_the_published_rates():
    prices = cost.load_prices()
    assert prices["as_of"] and prices["region"] == "us-east-1"
    assert prices["fargate"]["ARM64"] == {"vcpu_hour": ARM_VCPU, "gb_hour": ARM_GB}
    assert prices["fargate"]["X86_64"] == {"vcpu_hour": X86_VCPU, "gb_hour": X86_GB}


def test_prod_fargate_lines_follow_the_task_sizes():
    found = items_by_resource("prod")
    # the sizes the rehearsal proved: 0.25 vCPU each; 2 GB for the scheduler (LocalExecutor's
    # task processes), 1 GB for the others
    for service in ("api-server", "dag-processor", "triggerer"):
        assert found[f"Fargate service {service}"].usd_month == pytest.approx(
            (0.25 * ARM_VCPU + 1 * ARM_GB) * HOURS
        )
    assert found["Fargate service scheduler"].usd_month == pytest.approx(
        (0.25 * ARM_VCPU + 2 * ARM_GB) * HOURS
    )


def test_prod_fixed_network_costs():
    found = items_by_resource("prod")
    assert found["NAT gateway"].usd_month == pytest.approx(0.045 * HOURS)
    assert found["Public IPv4 of the load balancer"].usd_month == pytest.approx(2 * 0.005 * HOURS)
    assert found["Application Load Balancer"].usd_month == pytest.approx(
        (0.0225 + 0.1 * 0.008) * HOURS
    )
    assert found["RDS PostgreSQL"].usd_month == pytest.approx(0.016 * HOURS)
    assert found["RDS storage"].usd_month == pytest.approx(20 * 0.115)


def test_dev_has_no_nat_no_load_balancer_and_one_public_task():
    found = items_by_resource("dev")
    assert "NAT gateway" not in found and "Application Load Balancer" not in found
    assert found["Fargate service airflow"].usd_month == pytest.approx(
        (0.5 * ARM_VCPU + 4 * ARM_GB) * HOURS
    )
    assert found["Public IPv4 of airflow"].usd_month == pytest.approx(0.005 * HOURS)


def test_the_event_queue_costs_only_the_triggerers_polling():
    """Two queues (events, dead letters): no charge per queue, SSE-SQS and S3's notifications
    are free; the triggerer's idle receives, 0.6 a second, at $0.40 a million."""
    for profile in ("prod", "dev"):
        line = items_by_resource(profile)["SQS event queue"]
        assert line.usd_month == pytest.approx(0.6 * HOURS * 3600 / 1e6 * 0.40)
        assert line.detail.startswith("2 queues")


def test_alerts_cost_the_alarms_metrics_and_key_the_dashboard_and_emails_nothing():
    """prod: 11 alarms (4 services, the api-server's target group, 3 database, the scheduler's
    heartbeat, the dead letters, task log errors) at $0.10; 3 custom metrics from the metric
    filters at $0.30; the topic's KMS key $1. The dashboard is one of an account's 3 free ones;
    alert emails stay within SNS's free 1,000 a month."""
    prod = items_by_resource("prod")
    assert prod["CloudWatch alarms"].usd_month == pytest.approx(11 * 0.10)
    assert prod["CloudWatch alarms"].detail.startswith("11 ")
    assert prod["CloudWatch custom metrics"].usd_month == pytest.approx(3 * 0.30)
    assert prod["KMS key"].usd_month == pytest.approx(1.00)
    assert prod["CloudWatch dashboard"].usd_month == 0
    assert "first 3 are free" in prod["CloudWatch dashboard"].detail
    assert prod["SNS alerts topic"].usd_month == 0
    # dev turns the alarms off (EnableAlarms=false); the rest stays
    dev = items_by_resource("dev")
    assert "CloudWatch alarms" not in dev
    assert dev["KMS key"].usd_month == pytest.approx(1.00)
    assert dev["CloudWatch custom metrics"].usd_month == pytest.approx(3 * 0.30)


def test_a_fourth_dashboard_and_many_emails_would_be_billed():
    prices = cost.load_prices()
    prices["cloudwatch_free_dashboards"] = 0
    prices["idle_assumptions"]["alert_emails_month"] = 101_000
    found = items_by_resource("prod", prices)
    assert found["CloudWatch dashboard"].usd_month == pytest.approx(3.00)
    assert found["SNS alerts topic"].usd_month == pytest.approx(2.00)


def test_targets_prod_120_dev_45():
    # at the sizes `make rehearse` proved (issue: deploy rehearsal, defect 3)
    assert cost.total(cost.estimate("prod")) <= 120
    assert cost.total(cost.estimate("dev")) <= 45


def test_x86_costs_a_quarter_more_compute(monkeypatch):
    """Switching the architecture in a profile changes only the Fargate lines, by the rate ratio."""
    from deploy import profiles

    arm = items_by_resource("dev")["Fargate service airflow"].usd_month
    patched = {**profiles.PROFILES["dev"], "airflow": {**profiles.PROFILES["dev"]["airflow"]}}
    patched["airflow"]["CpuArchitecture"] = "X86_64"
    monkeypatch.setitem(profiles.PROFILES, "dev", patched)
    x86 = items_by_resource("dev")["Fargate service airflow"].usd_month
    assert x86 == pytest.approx((0.5 * X86_VCPU + 4 * X86_GB) * HOURS)
    assert x86 / arm == pytest.approx(1.25, rel=0.01)


def test_multi_az_doubles_the_database(monkeypatch):
    from deploy import profiles

    patched = {**profiles.PROFILES["prod"], "airflow": {**profiles.PROFILES["prod"]["airflow"]}}
    patched["airflow"]["DbMultiAz"] = "true"
    monkeypatch.setitem(profiles.PROFILES, "prod", patched)
    assert items_by_resource("prod")["RDS PostgreSQL"].usd_month == pytest.approx(2 * 0.016 * HOURS)


def test_comparisons():
    found = cost.comparisons()
    assert found["mwaa_mw1_small"][1] == pytest.approx(357.70)
    old = (2 * X86_VCPU + 4 * X86_GB + 0.005 + 0.016) * HOURS + 20 * 0.115
    assert found["old_single_task"][1] == pytest.approx(old)


def test_cli_prints_the_table_and_json(capsys):
    assert main(["cost"]) == 0
    text = capsys.readouterr().out
    assert "prod profile" in text and "dev profile" in text and "357.70" in text
    assert main(["cost", "--json"]) == 0
    totals = json.loads(capsys.readouterr().out)
    assert totals["cost_prod_usd_month"] == round(cost.total(cost.estimate("prod")), 2)
    assert set(totals) >= {"cost_prod_usd_month", "cost_dev_usd_month", "mwaa_mw1_small_usd_month"}
