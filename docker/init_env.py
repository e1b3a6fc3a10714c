"""Write .env for docker-compose-local.yml from .env.example, with freshly generated secrets.

Usage: python3 docker/init_env.py [--example PATH] [--output PATH]

Standard library only, so it runs before any virtualenv exists. It never overwrites an existing
file: rotating secrets on a running stack would lock the components out of each other.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository's packages are not importable yet
    sys.path.insert(0, str(REPO))

from local import shared_secrets  # noqa: E402 - the path above first

GENERATORS: dict[str, Callable[[], str]] = {
    # hex keeps the password safe inside the postgresql:// URL compose builds from it
    "POSTGRES_PASSWORD": lambda: secrets.token_hex(24),
    # Airflow's shared secrets, from the one generator the local stack and AWS use too
    **{shared_secrets.AIRFLOW_ENV[name]: make for name, make in shared_secrets.GENERATORS.items()},
    # docker-compose-git.yml's git server and the connection that reads it (URL-safe: in JSON)
    "GIT_SERVER_TOKEN": lambda: secrets.token_urlsafe(32),
}


def render(example: str) -> str:
    """Return the example's text with each secret's placeholder replaced by a fresh value."""
    missing = set(GENERATORS)
    lines = []
    for line in example.splitlines(keepends=True):
        key, sep, _ = line.partition("=")
        if sep and key in GENERATORS:
            line = f"{key}={GENERATORS[key]()}\n"
            missing.discard(key)
        lines.append(line)
    if missing:
        raise ValueError(f"the example env file does not define {', '.join(sorted(missing))}")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", type=Path, default=REPO / ".env.example")
    parser.add_argument("--output", type=Path, default=REPO / ".env")
    args = parser.parse_args(argv)
    if args.output.exists():
        print(f"{args.output} exists; left unchanged (delete it to generate new secrets)")
        return 0
    text = render(args.example.read_text())
    # created private (0600): it holds the secrets and, for a real account, credentials
    shared_secrets.write_private(args.output, text)
    print(f"wrote {args.output} with new secrets (target: emulators; see docs/docker.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
