"""Templates parsed once, and rendered for a profile or for chosen parameters (Helm-test style)."""

from __future__ import annotations

import pytest

from deploy import profiles, templates

# Values the deploy CLI passes for the parameters that have no default.
REQUIRED_AIRFLOW_PARAMETERS = {
    "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow/airflow:1a2b3c",
    "AirflowCoreSecretArn": (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/core-AbCdEf"
    ),
    "AllowedCidr": "203.0.113.7/32",
}


@pytest.fixture(scope="session")
def raw():
    """Each stack's template as written, short tags in their long form."""
    return {stack: templates.load(stack) for stack in templates.STACKS}


@pytest.fixture(scope="session")
def render(raw):
    """render(stack, profile=None, **parameters) -> templates.Rendered."""

    def _render(stack: str, profile: str | None = None, **parameters: str) -> templates.Rendered:
        values = dict(REQUIRED_AIRFLOW_PARAMETERS) if stack == "airflow" else {}
        if profile:
            values.update(profiles.overrides(profile, stack))
        values.update(parameters)
        return templates.Rendered(raw[stack], values)

    return _render
