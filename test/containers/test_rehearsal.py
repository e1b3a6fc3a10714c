"""`make rehearse` inside `make test`: every profile's task definitions (and the ECS executor's
worker task definition) run as ECS would run them.

The same code as `python -m deploy rehearse` on the tier's engine and images, with a shorter
soak (`make rehearse` soaks 300 s). Figures are compared with the independent computation.
"""

from __future__ import annotations

import pytest

from deploy.containers.engine import progress as say
from deploy.rehearsal import run
from snowflake_pipeline.config import load_config
from test.e2e.expected import delays_from_report

SOAK_SECONDS = 60


@pytest.fixture(scope="module", params=list(run.VARIANTS))
def rehearsal(request, engine, images, bases, tmp_path_factory) -> run.ProfileResult:
    work = tmp_path_factory.mktemp(f"rehearsal-{request.param}")
    profile = run.ProfileRehearsal(
        engine, images, bases.postgres, request.param, work, SOAK_SECONDS, say
    )
    result = profile.run()
    run.print_table(result, say)
    return result


def test_every_check_of_the_profile_passes(rehearsal):
    failed = [f"{c.name}: {c.detail}" for c in rehearsal.checks if not c.ok]
    assert not failed, failed
    names = [c.name for c in rehearsal.checks]
    assert names[-1] == "stop within StopTimeout, no task stuck", names


def test_the_figures_equal_the_independent_computation(rehearsal, expected):
    figures = rehearsal.figures
    assert figures["runs"] == {"snowflake_raw": "success", "snowflake_analytics": "success"}
    raw_schema = load_config().raw_schema
    raw = {k: v for k, v in figures["counts"].items() if k.startswith(f"{raw_schema}.")}
    assert raw == expected["raw_counts"]
    assert delays_from_report(figures["delays"]) == expected["delays"]
