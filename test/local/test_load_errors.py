"""How a failed COPY is classed, on the local emulator (fakesnow with local/emulator's patches):
a statement Snowflake refuses fails the load at once; a stage that cannot be used is retried."""

import pytest
from fakesnow.instance import FakeSnow

from local.emulator.noops import EMULATOR_NOOPS
from local.emulator.server import install_patches
from snowflake_pipeline.account_setup import apply
from snowflake_pipeline.config import Compression, load_config
from snowflake_pipeline.load import SourceLoadError, StageUnavailableError, load_source

VARIABLES = {"stage_url": "s3://bucket/landing/", "storage_role_arn": "arn:aws:iam::1:role/r"}


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    install_patches()
    snow = FakeSnow(db_path=str(tmp_path_factory.mktemp("db")), nop_regexes=EMULATOR_NOOPS)
    config = load_config()
    apply(snow.connect(), VARIABLES, config, echo=lambda _line: None)
    return snow, config


def test_an_option_snowflake_refuses_fails_at_once_naming_it(account):
    snow, config = account
    weather = next(s for s in config.sources if s.name == "weather")
    bz2 = weather.model_copy(
        update={"format": weather.format.model_copy(update={"compression": Compression.bz2})}
    )
    refused = r"(?s)refused COPY INTO .*weather itself.*COMPRESSION = BZ2"
    with pytest.raises(SourceLoadError, match=refused):
        load_source(snow.connect(), config, bz2, "run-1")


def test_a_stage_that_does_not_exist_is_retried_as_unavailable(account):
    snow, config = account
    planes = next(s for s in config.sources if s.name == "planes")
    elsewhere = config.model_copy(update={"stage": "raw.ops.no_such_stage"})
    with pytest.raises(StageUnavailableError, match=r"002003"):
        load_source(snow.connect(), elsewhere, planes, "run-2")
