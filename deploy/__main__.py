"""`python -m deploy {deploy,destroy,cost}`: see deploy/cli.py."""

from deploy.cli import main

raise SystemExit(main())
