"""Static guards: the open all-admins sign-in exists only in the local tooling."""

from pathlib import Path

import yaml

REPO = Path(__file__).parents[1]
ALL_ADMINS = "SIMPLE_AUTH_MANAGER_ALL_ADMINS"


def test_all_admins_is_never_in_the_image_or_the_cloud_templates():
    shipped = [REPO / "Dockerfile", *REPO.glob("cloudformation/*.yml"), *REPO.glob("deploy/*.py")]
    shipped += [*REPO.glob("docker/*"), *REPO.glob("airflow/**/*.py")]
    assert [p for p in shipped if p.is_file() and ALL_ADMINS in p.read_text()] == []


def test_all_admins_appears_only_where_the_ui_is_bound_to_loopback():
    users = sorted(
        str(p.relative_to(REPO))
        for p in [*REPO.glob("local/*.py"), REPO / "docker-compose-local.yml"]
        if ALL_ADMINS in p.read_text()
    )
    assert users == ["docker-compose-local.yml", "local/airflow_env.py"]
    compose = yaml.safe_load((REPO / "docker-compose-local.yml").read_text())
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert published and all(str(p).startswith("127.0.0.1:") for p in published)
    # The local stack's own binding is proven on the running stack (test/e2e/test_secrets.py).
