"""docker/init_env.py writes .env from .env.example with fresh secrets."""

from __future__ import annotations

import base64
import importlib.util
import re
import stat
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("init_env", REPO / "docker" / "init_env.py")
init_env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(init_env)

EXAMPLE = (REPO / ".env.example").read_text()


def parse(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


def test_secrets_are_replaced_with_valid_values():
    env = parse(init_env.render(EXAMPLE))
    assert len(base64.urlsafe_b64decode(env["AIRFLOW__CORE__FERNET_KEY"])) == 32
    assert len(env["AIRFLOW__API_AUTH__JWT_SECRET"].encode()) >= 64
    assert len(env["AIRFLOW__API__SECRET_KEY"]) >= 32
    assert len(env["POSTGRES_PASSWORD"]) == 48 and env["POSTGRES_PASSWORD"].isalnum()
    assert not [value for value in env.values() if "replace-me" in value]


def test_each_run_generates_new_secrets():
    first, second = parse(init_env.render(EXAMPLE)), parse(init_env.render(EXAMPLE))
    for key in init_env.GENERATORS:
        assert first[key] != second[key], key


def test_everything_but_the_secrets_is_kept_verbatim():
    rendered = init_env.render(EXAMPLE).splitlines()
    original = EXAMPLE.splitlines()
    assert len(rendered) == len(original)
    changed = [old for old, new in zip(original, rendered, strict=True) if old != new]
    assert sorted(line.split("=")[0] for line in changed) == sorted(init_env.GENERATORS)
    env = parse("\n".join(rendered))
    assert env["COMPOSE_PROFILES"] == "emulators"


def test_the_example_defines_every_variable_compose_requires():
    compose = "".join(
        (REPO / name).read_text() for name in ("docker-compose-local.yml", "docker-compose-git.yml")
    )
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", compose))
    assert required == {
        *init_env.GENERATORS,
        "AIRFLOW_CONN_SNOWFLAKE_DEFAULT",
        "AIRFLOW_CONN_AWS_DEFAULT",
        "PIPELINE_EVENT_QUEUE_URL",
    }
    assert required <= set(parse(EXAMPLE))


def test_a_missing_secret_in_the_example_is_an_error():
    with pytest.raises(ValueError, match="AIRFLOW__API__SECRET_KEY"):
        init_env.render(EXAMPLE.replace("AIRFLOW__API__SECRET_KEY=", "#"))


def test_writes_a_private_file_and_never_overwrites(tmp_path, capsys):
    output = tmp_path / ".env"
    assert init_env.main(["--output", str(output)]) == 0
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    written = output.read_text()
    assert init_env.main(["--output", str(output)]) == 0
    assert output.read_text() == written
    assert "left unchanged" in capsys.readouterr().out
