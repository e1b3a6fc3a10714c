"""`make rehearse` inside `make test`: every task definition the templates declare runs as ECS
would run it.

The same code as `python -m deploy rehearse` on the tier's engine and images, with a shorter
soak (conftest.py: the variants, the soak, and their start beside the compose tests). Figures are
compared with the independent computation.
"""

from __future__ import annotations

import pytest

from deploy.containers.engine import progress as say
from deploy.rehearsal import run
from snowflake_pipeline.config import load_config
from test.containers.conftest import REHEARSAL_VARIANTS
from test.e2e.expected import delays_from_report


@pytest.fixture(scope="module")
def rehearsals(rehearsals_started) -> dict[str, run.ProfileResult]:
    """The variants' results (started beside the compose tests, see conftest.py)."""
    results = rehearsals_started.result()
    for result in results.values():
        run.print_table(result, say)
    return results


@pytest.fixture(params=REHEARSAL_VARIANTS)
def rehearsal(request, rehearsals) -> run.ProfileResult:
    return rehearsals[request.param]


def test_the_tier_runs_every_task_definition():
    """Every profile, executor and rehearsed DAG delivery `make deploy` offers is in the tier,
    but for prod's LocalExecutor, whose task definitions prod-ecs runs."""
    for aspect in ("profile", "executor", "dag_delivery", "git_over_ssh"):
        tier = {getattr(run.VARIANTS[name], aspect) for name in REHEARSAL_VARIANTS}
        assert tier == {getattr(v, aspect) for v in run.VARIANTS.values()}, aspect


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
