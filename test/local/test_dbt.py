"""`make dbt` (local/dbt.py) without a running stack says what to do (the build itself:
test/dbt/test_build.py)."""

import pytest

from local import dbt
from local.settings import Settings


def test_without_the_emulator_running_it_says_make_run_first(tmp_path):
    with pytest.raises(RuntimeError, match=r"not running: `make run` first"):
        dbt.run(Settings.on_free_ports(tmp_path), ["build"])


def test_builds_of_the_manifest_at_once_never_leave_it_half_written():
    """Two end-to-end lanes start their stacks together: each builds the manifest while the
    other's dag-processor may read it. Builds take turns, and a reader only ever sees a whole
    manifest (a CI run once read 'Extra data' from one being rewritten)."""
    import json
    import threading

    from snowflake_pipeline.dbt_project import manifest_path

    dbt.build_manifest()  # a manifest to read from the start
    reads, broken, stop = [], [], threading.Event()

    def read_while_built() -> None:
        while not stop.is_set():
            try:
                reads.append(json.loads(manifest_path().read_text())["metadata"]["dbt_version"])
            except (OSError, ValueError) as error:  # missing, or half written
                broken.append(repr(error))
            # a pause between reads (one takes about 10 ms): without it this thread kept a
            # core busy for the whole test, beside the lanes of `make test`
            stop.wait(0.02)

    reader = threading.Thread(target=read_while_built)
    reader.start()
    builders = [threading.Thread(target=dbt.build_manifest, kwargs={"force": True}) for _ in "ab"]
    try:
        for builder in builders:
            builder.start()
        for builder in builders:
            builder.join(timeout=300)
    finally:
        stop.set()
        reader.join(timeout=30)
    assert not broken, broken[:3]
    assert len(reads) > 10 and set(reads) == {reads[0]}
    assert dbt.manifest_is_current()
    assert not list(manifest_path().parent.glob(".parse-*"))  # no temporary target left
