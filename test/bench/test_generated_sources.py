"""The generated sources file: valid, as many sources as asked, the five real ones first."""

from bench.generated_sources import REAL_SOURCES, write_sources_file
from snowflake_pipeline.config import load_config


def test_generated_config_keeps_real_sources_and_validates(tmp_path):
    path = write_sources_file(tmp_path / "sources.yml", 500)
    config = load_config(path)
    real = [s.name for s in load_config(REAL_SOURCES).sources]
    assert len(config.sources) == 500
    assert [s.name for s in config.sources[: len(real)]] == real
