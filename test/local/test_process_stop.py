"""`processes.stop` returns once the component and every child of its process group are gone
(real processes): a stopped component does nothing more, whichever of its processes ends last."""

import os
import sys

from local import processes
from local.settings import Settings

# The child takes a while over SIGTERM (as the trigger runner finishes its triggers); the
# leader ends at once.
_SLOW_CHILD = """
import signal, sys, time
open(sys.argv[1], "w").write(str(__import__("os").getpid()))
signal.signal(signal.SIGTERM, lambda *_: (time.sleep(2), sys.exit(0)))
time.sleep(60)
"""


def test_stop_waits_for_the_children_of_the_component(tmp_path):
    settings = Settings.on_free_ports(tmp_path)
    pid_file = tmp_path / "child.pid"
    script = f'"{sys.executable}" -c \'{_SLOW_CHILD}\' "{pid_file}" & exec sleep 60'
    processes.start(settings, "triggerer", ["sh", "-c", script], {"PATH": os.environ["PATH"]})
    child = int(
        processes.wait_until(lambda: pid_file.exists() and pid_file.read_text(), 30, "the child")
    )
    assert processes.alive(child)

    assert processes.stop(settings, "triggerer")
    assert not processes.alive(child)
    assert processes.running_pid(settings, "triggerer") is None
