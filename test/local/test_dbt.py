"""`make dbt` (local/dbt.py) without a running stack says what to do (the build itself:
test/dbt/test_build.py)."""

import pytest

from local import dbt
from local.settings import Settings


def test_without_the_emulator_running_it_says_make_run_first(tmp_path):
    with pytest.raises(RuntimeError, match=r"not running: `make run` first"):
        dbt.run(Settings.on_free_ports(tmp_path), ["build"])
