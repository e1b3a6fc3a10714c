"""Where the local stack keeps its state and which loopback ports it uses.

Everything is overridable through LOCAL_STACK_* environment variables so that the end-to-end tests
can run a second, isolated stack beside a user's `make run`.
"""

from __future__ import annotations

import os
import socket
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LANDING_BUCKET = "landing"
# Where the DAG processor reads the DAGs: the repository's airflow/dags folder (the image's
# delivery), or a git repository through GitDagBundle (local/dags_repo.py).
DAGS_FROM = ("folder", "git")


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    s3_port: int
    snowflake_port: int
    api_port: int
    postgres_port: int
    dags_from: str = "folder"

    def __post_init__(self) -> None:
        if self.dags_from not in DAGS_FROM:
            raise ValueError(
                f"LOCAL_STACK_DAGS_FROM (make run DAGS_FROM=...) is {self.dags_from!r}; "
                f"allowed: {', '.join(DAGS_FROM)}"
            )

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def pid_dir(self) -> Path:
        return self.state_dir / "pids"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def tls_dir(self) -> Path:
        return self.state_dir / "tls"

    @property
    def ca_bundle(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def snowflake_db(self) -> Path:
        return self.state_dir / "snowflake" / "fakesnow"

    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow"

    @classmethod
    def on_free_ports(cls, state_dir: Path, dags_from: str = "folder") -> Settings:
        """A stack of its own beside any other: state in `state_dir`, ports the OS had free."""
        s3, snowflake, api, postgres = free_ports(4)
        return cls(
            state_dir,
            s3_port=s3,
            snowflake_port=snowflake,
            api_port=api,
            postgres_port=postgres,
            dags_from=dags_from,
        )

    def as_env(self) -> dict[str, str]:
        """The LOCAL_STACK_* variables that make `load()` (in any process) return these settings."""
        return {
            "LOCAL_STACK_DIR": str(self.state_dir),
            "LOCAL_STACK_S3_PORT": str(self.s3_port),
            "LOCAL_STACK_SNOWFLAKE_PORT": str(self.snowflake_port),
            "LOCAL_STACK_API_PORT": str(self.api_port),
            "LOCAL_STACK_POSTGRES_PORT": str(self.postgres_port),
            "LOCAL_STACK_DAGS_FROM": self.dags_from,
        }


def free_port() -> int:
    """A loopback port nothing listens on now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different loopback ports nothing listens on now. The sockets stay bound until all
    are chosen: one at a time, the OS may hand out a port it just gave (a CI run once got the
    same port for the emulator and the api-server)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def load() -> Settings:
    env = os.environ
    return Settings(
        state_dir=Path(env.get("LOCAL_STACK_DIR", REPO / ".local")).resolve(),
        s3_port=int(env.get("LOCAL_STACK_S3_PORT", "18555")),
        snowflake_port=int(env.get("LOCAL_STACK_SNOWFLAKE_PORT", "18443")),
        api_port=int(env.get("LOCAL_STACK_API_PORT", "8080")),
        postgres_port=int(env.get("LOCAL_STACK_POSTGRES_PORT", "15432")),
        dags_from=env.get("LOCAL_STACK_DAGS_FROM") or "folder",
    )
