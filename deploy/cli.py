"""Command line: `deploy`, `destroy` and `cost` (the Makefile's targets of the same names)."""

from __future__ import annotations

import argparse
import json
import sys

from deploy import cost


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cost_parser = commands.add_parser("cost", help="monthly cost of the dev and prod profiles")
    cost_parser.add_argument("--json", action="store_true", help="totals as JSON (benchmarks)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "cost":
        if args.json:
            totals = {
                f"cost_{p}_usd_month": round(cost.total(cost.estimate(p)), 2)
                for p in ("prod", "dev")
            }
            totals |= {f"{k}_usd_month": round(v, 2) for k, (_, v) in cost.comparisons().items()}
            print(json.dumps(totals, indent=2))
        else:
            print(cost.report())
        return 0
    print(f"unknown command {args.command}", file=sys.stderr)
    return 2
