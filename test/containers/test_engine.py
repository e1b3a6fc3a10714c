"""The engine the tier starts for itself: its containers get their share of a busy machine."""

from __future__ import annotations

import pytest

from deploy.containers import engine as engine_mod


def test_our_dockerd_runs_every_container_in_its_weighted_cgroup(engine, images):
    """A container of our dockerd sits in CONTAINER_CGROUP, whose cpu.shares the kernel reports
    as CONTAINER_CPU_SHARES: a task's --cpus is then what it gets beside the end-to-end stacks."""
    if not engine.started_pid or not (engine_mod.CGROUP_CPU / "cpu.shares").exists():
        pytest.skip("an engine we did not start, or no cgroup v1: the engine's own cgroups apply")
    done = engine.docker(
        "run", "--rm", "--cpus", "0.25", images.runtime, "bash", "-c", "cat /proc/self/cgroup"
    )
    (cpu_path,) = [
        line.split(":", 2)[2]
        for line in done.stdout.splitlines()
        if "cpu" in line.split(":", 2)[1].split(",")
    ]
    parent = cpu_path.rsplit("/", 1)[0]
    assert parent == engine_mod.CONTAINER_CGROUP, cpu_path
    shares = (engine_mod.CGROUP_CPU / parent.lstrip("/") / "cpu.shares").read_text().strip()
    assert int(shares) == engine_mod.CONTAINER_CPU_SHARES
