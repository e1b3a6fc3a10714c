"""`make run` notices a stack process that died, and names it and its log (real processes)."""

import os

import pytest

from local import processes, stack
from local.settings import Settings


@pytest.fixture
def started(tmp_path):
    """Every stack process name, each a real process (a sleep) recorded by PID as up() does."""
    settings = Settings.on_free_ports(tmp_path)
    names = list(stack.status(settings))
    env = {"PATH": os.environ["PATH"]}
    for name in names:
        argv = ["sh", "-c", "sleep 2; exit 3"] if name == "scheduler" else ["sleep", "60"]
        processes.start(settings, name, argv, env)
    yield settings
    for name in names:
        processes.stop(settings, name)


def test_a_process_that_exits_is_named_with_its_log_and_the_way_back(started):
    settings = started
    stack.ensure_running(settings)  # all alive: nothing to say
    processes.wait_until(
        lambda: processes.running_pid(settings, "scheduler") is None, 10, "the scheduler to exit"
    )
    with pytest.raises(stack.StackProcessDied) as raised:
        stack.ensure_running(settings)
    message = str(raised.value)
    assert "scheduler process is not running" in message
    assert str(settings.log_dir / "scheduler.log") in message
    assert "Run `make run` again" in message
    # Only the dead one is reported; the others still run.
    alive = {name for name, pid in stack.status(settings).items() if pid}
    assert alive == set(stack.status(settings)) - {"scheduler"}
