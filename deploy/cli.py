"""Command line: `deploy`, `destroy`, `cost` and `rehearse` (the Makefile's targets of the
same names).

Inputs come from flags or environment variables (docs/deploy.md lists both).
"""

from __future__ import annotations

import argparse
import json
import sys

from deploy import cost, inputs, orchestrate, profiles
from deploy.rehearsal import VARIANTS as REHEARSALS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    cost_parser = commands.add_parser("cost", help="monthly cost of the dev and prod profiles")
    cost_parser.add_argument("--json", action="store_true", help="totals as JSON (benchmarks)")

    rehearse_parser = commands.add_parser(
        "rehearse", help="run the task definitions on Docker with moto as AWS (no AWS account)"
    )
    rehearse_parser.add_argument(
        "--profile",
        action="append",
        choices=list(REHEARSALS),
        help="prod, dev, prod-ecs (prod with the ECS executor's worker tasks), dev-git (dev with "
        "the DAGs from a git host over HTTPS) or dev-git-ssh (the same over SSH); default: all",
    )
    rehearse_parser.add_argument(
        "--soak", type=float, default=300, help="seconds every service must stay healthy (300)"
    )
    rehearse_parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="rehearse the profiles at the same time (faster; about 3 GB of memory each)",
    )

    deploy_parser = commands.add_parser("deploy", help="create or update everything")
    destroy_parser = commands.add_parser("destroy", help="delete the stacks and secrets")
    for sub in (deploy_parser, destroy_parser):
        sub.add_argument("--profile", choices=sorted(profiles.PROFILES), default="prod")
        sub.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # tests: a moto server
    for flag, text in inputs.FLAGS:
        deploy_parser.add_argument(f"--{flag}", help=text)
    destroy_parser.add_argument("--region", help="AWS region (AWS_REGION)")
    destroy_parser.add_argument(
        "--environment-name", help="the environment to delete (DEPLOY_ENVIRONMENT_NAME, airflow)"
    )
    destroy_parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    destroy_parser.add_argument(
        "--delete-database", action="store_true", help="also when deletion protection is on"
    )
    return parser


def _session(region: str):
    import boto3  # imported late: `make cost` needs no AWS SDK

    return boto3.session.Session(region_name=region)


def _print_cost(as_json: bool) -> None:
    if not as_json:
        print(cost.report())
        return
    totals = {
        f"cost_{p}_usd_month": round(cost.total(cost.estimate(p)), 2) for p in ("prod", "dev")
    }
    totals |= {f"{k}_usd_month": round(v, 2) for k, (_, v) in cost.comparisons().items()}
    print(json.dumps(totals, indent=2))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "cost":
        _print_cost(args.json)
        return 0
    if args.command == "rehearse":
        from deploy.rehearsal import run  # imported late: Docker and moto only here

        return run.rehearse(args.profile, args.soak, side_by_side=args.side_by_side)
    try:
        if args.command == "deploy":
            flags = {k: v for k, v in vars(args).items() if isinstance(v, str)}
            collected = inputs.collect(flags)
            clients = orchestrate.Clients.create(_session(collected.region), args.endpoint_url)
            orchestrate.deploy(collected, clients)
            return 0
        region = inputs.collect_region(args.region)
        name = inputs.collect_environment_name(args.environment_name)
        if (
            not args.yes
            and input(f"Delete every stack of {name!r} in {region}? Type {name}: ") != name
        ):
            print("nothing deleted", file=sys.stderr)
            return 1
        clients = orchestrate.Clients.create(_session(region), args.endpoint_url)
        orchestrate.destroy(name, clients, delete_database=args.delete_database)
        return 0
    except inputs.InputError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
