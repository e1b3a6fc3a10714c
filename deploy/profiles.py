"""The two deployment profiles: parameter overrides per stack on top of the template defaults.

The template defaults are the production shape (private tasks, NAT, load balancer, deletion
protection); `dev` trades availability and network isolation for cost, never opening Airflow to
the world: the api-server still accepts only AllowedCidr.
"""

from __future__ import annotations

PROFILES: dict[str, dict[str, dict[str, str]]] = {
    "prod": {
        "network": {"NatGateway": "one", "ContainerInsights": "disabled"},
        "storage": {},
        "airflow": {
            "Layout": "split",
            "TaskPlacement": "private",
            "UseLoadBalancer": "enabled",
            "CpuArchitecture": "ARM64",
            "DbDeletionProtection": "true",
            "DbMultiAz": "false",
            "DbBackupRetentionDays": "7",
            "LogRetentionDays": "30",
            # CloudWatch alarms to the alerts topic (docs/deploy.md, "Alerts")
            "EnableAlarms": "true",
        },
    },
    "dev": {
        # No NAT gateway: the largest fixed cost. Tasks take a public IP in the public subnets.
        "network": {"NatGateway": "none", "ContainerInsights": "disabled"},
        "storage": {"NoncurrentVersionDays": "7"},
        "airflow": {
            # One task with the four components: one public IPv4 address instead of four.
            "Layout": "combined",
            "TaskPlacement": "public",
            # No load balancer: the api-server task accepts port 8080 from AllowedCidr only.
            "UseLoadBalancer": "disabled",
            "CpuArchitecture": "ARM64",
            "DbDeletionProtection": "false",
            "DbMultiAz": "false",
            "DbBackupRetentionDays": "1",
            "LogRetentionDays": "7",
            # a trial environment, stopped and replaced often: no alarms (the alerts topic, the
            # DAGs' failure callbacks and the dashboard stay); DEPLOY_ENABLE_ALARMS=true for them
            "EnableAlarms": "false",
        },
    },
}


def overrides(profile: str, stack: str) -> dict[str, str]:
    if profile not in PROFILES:
        raise KeyError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    return dict(PROFILES[profile][stack])
