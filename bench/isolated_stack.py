"""A local stack of the benchmarks' own: free ports, a temporary state folder, stopped by PID.

The same `local.stack.up()` as `make run`, never the user's `.local/` stack.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from local import stack
from local.settings import Settings


@contextlib.contextmanager
def isolated_stack(echo=print, keep_state: bool = False) -> Iterator[Settings]:
    """Settings of a new stack, LOCAL_STACK_* pointing at it; the caller starts it with
    `local.stack.up(settings)`; on exit every process of it is stopped and its state removed."""
    state_dir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    settings = Settings.on_free_ports(state_dir)
    # connect_snowflake() points REQUESTS_CA_BUNDLE at this stack's CA: restore it, or pip and
    # uv in a later `make install` look for a certificate that is gone.
    saved = {k: os.environ.get(k) for k in [*settings.as_env(), "REQUESTS_CA_BUNDLE"]}
    os.environ.update(settings.as_env())
    try:
        yield settings
    finally:
        stack.down(settings, echo=lambda line: echo(f"  {line.strip()}"))
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not keep_state:
            shutil.rmtree(state_dir, ignore_errors=True)
