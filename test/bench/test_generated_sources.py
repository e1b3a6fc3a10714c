"""The generated sources file: valid, as many sources as asked, the real ones first."""

import yaml

from bench.generated_sources import write_sources_file
from snowflake_pipeline.config import load_config, sources_file


def test_generated_config_keeps_real_sources_and_validates(tmp_path):
    path = write_sources_file(tmp_path / "sources.yml", 500)
    config = load_config(path)
    real = [s["name"] for s in yaml.safe_load(sources_file().read_text())["sources"]]
    assert len(config.sources) == 500
    assert [s.name for s in config.sources[: len(real)]] == real
    generated = config.sources[len(real) :]
    assert len({s.prefix for s in generated}) == len({s.table for s in generated}) == len(generated)
