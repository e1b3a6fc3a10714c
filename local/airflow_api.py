"""A small client of Airflow 3's REST API (/api/v2), used to trigger runs and follow them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote


class AirflowAPI:
    def __init__(self, base_url: str, token: str | None = None):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the Airflow API URL must be http(s): {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def signed_in(cls, base_url: str, username: str, password: str) -> AirflowAPI:
        """A client with a token of the auth manager's /auth/token (user name and password)."""
        api = cls(base_url)
        request = urllib.request.Request(  # noqa: S310 - http(s) URL checked above
            f"{api.base_url}/auth/token",
            data=json.dumps({"username": username, "password": password}).encode(),
            method="POST",
            headers=api.headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 # nosec B310
                token = json.loads(response.read())["access_token"]
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"Airflow API sign-in as {username}: HTTP {exc.code}") from None
        return cls(base_url, token)

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback http URL built by us
            f"{self.base_url}/api/v2{path}",
            data=data,
            method=method,
            headers=self.headers,
        )
        try:
            # Only the http(s) base URL given to __init__ is ever opened.
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 # nosec B310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise RuntimeError(f"Airflow API {method} {path}: HTTP {exc.code}: {detail}") from None

    def healthy(self) -> bool:
        """The metadata database healthy and the execution API answering. Its first request
        builds its versioned routes (about 5 CPU-seconds in which the api-server answers
        nothing): made here, as the image's health check makes it, not by a task's first call."""
        try:
            health = self._call("GET", "/monitor/health")
            # Only the http(s) base URL given to __init__ is ever opened.
            with urllib.request.urlopen(f"{self.base_url}/execution/health", timeout=60):  # noqa: S310 # nosec B310
                pass
        except (OSError, RuntimeError):
            return False
        return health.get("metadatabase", {}).get("status") == "healthy"

    def dag(self, dag_id: str) -> dict | None:
        try:
            return self._call("GET", f"/dags/{dag_id}")
        except RuntimeError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise

    def request_parse(self, dag: dict) -> None:
        """Ask the dag-processor to parse the file of `dag` (a `dag()` answer) next, instead of
        when its min_file_process_interval comes round (Airflow's parseDagFile)."""
        self._call("PUT", f"/parseDagFile/{dag['file_token']}")

    def import_errors(self) -> list[dict]:
        return self._call("GET", "/importErrors")["import_errors"]

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self._call("PATCH", f"/dags/{dag_id}", {"is_paused": True})

    def trigger(self, dag_id: str, note: str | None = None) -> dict:
        return self._call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "note": note})

    def clear_run(self, dag_id: str, run_id: str, run_on_latest_version: bool = False) -> dict:
        """Run a finished DAG run again: on the DAG code it first ran (its own bundle version),
        unless `run_on_latest_version`."""
        body = {"dry_run": False, "run_on_latest_version": run_on_latest_version}
        return self._call("POST", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/clear", body)

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def dag_runs(self, dag_id: str, limit: int = 20) -> list[dict]:
        runs = self._call("GET", f"/dags/{dag_id}/dagRuns?order_by=-run_after&limit={limit}")
        return runs["dag_runs"]

    def asset_events_of_run(self, dag_id: str, run_id: str) -> list[dict]:
        """The Asset events a DAG run emitted (its tasks' outlets)."""
        query = f"source_dag_id={quote(dag_id)}&source_run_id={quote(run_id, safe='')}&limit=100"
        return self._call("GET", f"/assets/events?{query}")["asset_events"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of the run (the API pages them, 100 at most per page)."""
        found: list[dict] = []
        while True:
            page = self._call(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100&offset={len(found)}",
            )
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The latest try's log as text: one line per structured log entry."""
        base = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
        try_number = self._call("GET", base)["try_number"]
        log = self._call("GET", f"{base}/logs/{try_number}?full_content=true")
        entries = log.get("content") or []
        if isinstance(entries, str):
            return entries
        return "\n".join(
            json.dumps(entry) if isinstance(entry, dict) else str(entry) for entry in entries
        )

    def task_ids(self, dag_id: str) -> list[str]:
        return [t["task_id"] for t in self._call("GET", f"/dags/{dag_id}/tasks")["tasks"]]
