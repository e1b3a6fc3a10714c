"""Parsed views of the Docker files for the tests in this directory: no Docker engine needed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose-local.yml"
DOCKERFILE = REPO / "Dockerfile"
CLOUDFORMATION_AIRFLOW = REPO / "cloudformation" / "airflow.yml"


def with_defaults(text: str) -> str:
    """The naming variables (`${NAME:-default}`) replaced by their defaults: the images and the
    port a user gets (the container tier sets its own)."""
    names = "AIRFLOW_IMAGE|AIRFLOW_DEV_IMAGE|POSTGRES_IMAGE|AIRFLOW_API_PORT"
    return re.sub(r"\$\{(?:" + names + r"):-([^}]*)\}", r"\1", text)


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load(with_defaults(COMPOSE_FILE.read_text()))


@pytest.fixture(scope="session")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Split a Dockerfile into stages of (KEYWORD, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?: AS (\S+))?", rest, flags=re.IGNORECASE)
            assert match, f"unexpected FROM line: {line}"
            stages.append(Stage(name=match[2] or str(len(stages)), base=match[1]))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return stages


@pytest.fixture(scope="session")
def stages() -> dict[str, Stage]:
    return {stage.name: stage for stage in parse_dockerfile(DOCKERFILE.read_text())}


@pytest.fixture(scope="session")
def cfn_containers() -> dict[str, list[dict]]:
    """Container definitions of every ECS task definition in cloudformation/airflow.yml, by name."""
    if not CLOUDFORMATION_AIRFLOW.exists():
        pytest.skip(f"{CLOUDFORMATION_AIRFLOW.relative_to(REPO)} does not exist yet")
    from deploy import templates

    template = templates.parse(CLOUDFORMATION_AIRFLOW.read_text())
    containers: dict[str, list[dict]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::ECS::TaskDefinition":
            for container in resource["Properties"]["ContainerDefinitions"]:
                containers.setdefault(container["Name"], []).append(container)
    return containers
