"""`make rehearse` inside `make test`: every task definition the templates declare runs as ECS
would run it.

The same code as `python -m deploy rehearse` on the tier's engine and images, with a shorter
soak (`make rehearse` soaks 300 s). Figures are compared with the independent computation.
"""

from __future__ import annotations

import pytest

from deploy.containers.engine import progress as say
from deploy.rehearsal import run
from snowflake_pipeline.config import load_config
from test.e2e.expected import delays_from_report

# one Interval of the task definitions' health checks (30 s): Docker runs each at least once in it
SOAK_SECONDS = 30

# prod-ecs runs the prod profile's four service task definitions (the same ones `prod` runs; only
# the scheduler's executor setting differs) plus the ECS executor's worker task definition, with
# the DAGs in the image; dev-git-ssh runs the combined task with LocalExecutor, the DAGs from a
# git host over SSH (the key from Secrets Manager, the host key pinned by the stack, port 22 only
# for the DAG readers). `prod` adds only LocalExecutor under the prod scheduler's limits, `dev`
# only the image's DAGs in the combined task and `dev-git` the same git host over HTTPS with a
# token (which compose's git server covers too), each a third set of CPU-bound containers on a
# 2-core runner: `make rehearse` covers them.
TIER_VARIANTS = ("dev-git-ssh", "prod-ecs")


@pytest.fixture(scope="module")
def rehearsals(engine, images, bases, tmp_path_factory) -> dict[str, run.ProfileResult]:
    """The tier's variants, side by side (each on its own network with its own moto): the
    tier's longest part takes about as long as its longest variant."""
    work = tmp_path_factory.mktemp("rehearsals")
    results = run.rehearse_profiles(
        engine, images, bases.postgres, list(TIER_VARIANTS), work, SOAK_SECONDS, say, True
    )
    for result in results.values():
        run.print_table(result, say)
    return results


@pytest.fixture(params=TIER_VARIANTS)
def rehearsal(request, rehearsals) -> run.ProfileResult:
    return rehearsals[request.param]


def test_the_tier_runs_every_task_definition():
    """Every profile, executor and rehearsed DAG delivery `make deploy` offers is in the tier,
    but for prod's LocalExecutor, whose task definitions prod-ecs runs."""
    for aspect in ("profile", "executor", "dag_delivery", "git_over_ssh"):
        tier = {getattr(run.VARIANTS[name], aspect) for name in TIER_VARIANTS}
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
