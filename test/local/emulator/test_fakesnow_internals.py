"""Guards local/emulator/fakesnow_internals.py: a moved internal names the patch to review."""

import pytest

from local.emulator.fakesnow_internals import FakesnowChanged, internal


@pytest.mark.parametrize(
    ("module", "attribute", "patch"),
    [
        ("fakesnow.cursor", "copy_into", "copy_errors"),
        ("fakesnow.cursor", "FakeSnowflakeCursor.execute", "load_history"),
        ("fakesnow.copy_into", "_source_glob", "recursive_listing"),
        ("fakesnow.copy_into", "handle_csv", "csv_reading"),
        ("fakesnow.copy_into", "ReadCSV.read_expression", "csv_reading"),
        ("fakesnow.copy_into", "ReadJSON.read_expression", "json_options"),
        ("fakesnow.copy_into", "_params", "json_options"),
        ("fakesnow.copy_into", "parse_options", "json_options"),
        ("fakesnow.copy_into", "_inserts", "copy_transform"),
        ("fakesnow.cursor", "FakeSnowflakeCursor.check_db_and_schema", "copy_transform"),
        ("fakesnow.cursor", "FakeSnowflakeCursor._transform", "temporary_tables"),
        ("fakesnow.server", "parse_one", "statement_errors"),
        ("fakesnow.dialect", "syntax_error", "statement_errors"),
        ("fakesnow.fakes", "FakeSnowflakeConnection", "databases"),
    ],
)
def test_every_internal_a_patch_replaces_is_there(module, attribute, patch):
    assert callable(internal(module, attribute, patch))


def test_a_missing_internal_names_the_patch_and_its_guards():
    with pytest.raises(FakesnowChanged, match=r"local/emulator/csv_reading\.py needs review"):
        internal("fakesnow.copy_into", "no_such_function", "csv_reading")
