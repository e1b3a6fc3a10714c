"""A local stack of the benchmarks' own: free ports, a temporary state folder, stopped by PID.

The same `local.stack.up()` as `make run`, never the user's `.local/` stack.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from local import stack
from local.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_settings(state_dir: Path) -> Settings:
    return Settings(
        state_dir=state_dir, s3_port=free_port(), snowflake_port=free_port(), api_port=free_port()
    )


def stack_env(settings: Settings) -> dict[str, str]:
    """LOCAL_STACK_* variables that point any `local` code at this stack."""
    return {
        "LOCAL_STACK_DIR": str(settings.state_dir),
        "LOCAL_STACK_S3_PORT": str(settings.s3_port),
        "LOCAL_STACK_SNOWFLAKE_PORT": str(settings.snowflake_port),
        "LOCAL_STACK_API_PORT": str(settings.api_port),
    }


@contextlib.contextmanager
def isolated_stack(echo=print, keep_state: bool = False) -> Iterator[Settings]:
    """Settings of a new stack, LOCAL_STACK_* pointing at it; the caller starts it with
    `local.stack.up(settings)`; on exit every process of it is stopped and its state removed."""
    state_dir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    settings = new_settings(state_dir)
    # connect_snowflake() points REQUESTS_CA_BUNDLE at this stack's CA: restore it, or pip and
    # uv in a later `make install` look for a certificate that is gone.
    saved = {k: os.environ.get(k) for k in [*stack_env(settings), "REQUESTS_CA_BUNDLE"]}
    os.environ.update(stack_env(settings))
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
