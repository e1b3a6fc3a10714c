"""COPY with a transformation, as the pipeline writes it for `lineage: true`:

    COPY INTO t (a, b, _file_name, _file_row_number, _loaded_at)
    FROM (SELECT $1, $2, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, METADATA$START_SCAN_TIME
          FROM @stage/prefix/)

fakesnow reads only `$1:name` in a transformation (it fails on a bare `$1`) and knows none of the
METADATA$ columns. Here, in each file's INSERT: `$N` is the file's Nth CSV field (column{N-1} of
read_csv) or the whole JSON record; METADATA$FILENAME is the file's path in the stage,
METADATA$FILE_ROW_NUMBER the record's number in the file (1 = first record loaded) and
METADATA$START_SCAN_TIME the load's start. fakesnow also takes the stage in the transformation's
FROM for an unqualified table and refuses the COPY without a current schema; a COPY into a
qualified table is checked by its target only.
"""

from __future__ import annotations

from local.emulator.fakesnow_internals import internal, replace


def _dollar(node) -> int | None:
    """N of a bare `$N` (not the `$1` of `$1:name`, which fakesnow reads itself)."""
    from sqlglot import exp

    if not isinstance(node, exp.Parameter) or not isinstance(node.this, exp.Literal):
        return None
    parent = node.parent
    if isinstance(parent, exp.JSONExtract | exp.Bracket) and parent.this is node:
        return None
    return int(node.this.this) if node.this.this.isdigit() else None


def file_fields(select) -> dict[int, object]:
    """{N: the expression of the select list that reads $N} of a transformation."""
    fields = {}
    for position, expression in enumerate(select.expressions):
        for node in expression.walk():
            if (n := _dollar(node)) is not None:
                fields[n] = position
    return fields


def relative_path(url: str, stage_path: str) -> str:
    """The file's path in the stage: from the FROM's path on (the whole key without one)."""
    if stage_path and (at := url.find("/" + stage_path)) >= 0:
        return url[at + 1 :]
    return url.partition("://")[2].partition("/")[2]


def install() -> None:
    from sqlglot import exp

    read_json = internal("fakesnow.copy_into", "ReadJSON", "copy_transform")
    read_csv = internal("fakesnow.copy_into", "ReadCSV", "copy_transform")

    def inserts(expr, params, urls, parquet_info=None):
        source = expr.args["files"][0]
        if not isinstance(source, exp.Subquery):
            return original(expr, params, urls, parquet_info)
        select = source.this
        for node in list(select.walk()):
            if (n := _dollar(node)) is None:
                continue
            if isinstance(params.file_format, read_csv):
                node.replace(exp.column(f"column{n - 1}"))
            elif isinstance(params.file_format, read_json) and n == 1:
                node.replace(exp.column("json"))
        from_table = select.args["from_"].this
        stage_path = from_table.name.partition("/")[2] if from_table.name.startswith("@") else ""
        built = original(expr, params, urls, parquet_info)
        for insert, url in zip(built, urls, strict=True):
            for column in list(insert.find_all(exp.Column)):
                name = column.name.upper()
                if name == "METADATA$FILENAME":
                    column.replace(exp.Literal.string(relative_path(url, stage_path)))
                elif name == "METADATA$FILE_ROW_NUMBER":
                    column.replace(exp.Window(this=exp.RowNumber()))
                elif name == "METADATA$START_SCAN_TIME":
                    column.replace(exp.CurrentTimestamp())
        return built

    original = replace("fakesnow.copy_into", "_inserts", "copy_transform", inserts)

    cursor = internal("fakesnow.cursor", "FakeSnowflakeCursor", "copy_transform")
    original_check = cursor.check_db_and_schema

    def check_db_and_schema(self, expression):
        if isinstance(expression, exp.Copy):
            target = expression.this
            table = target.this if isinstance(target, exp.Schema) else target
            if isinstance(table, exp.Table) and table.catalog and table.db:
                return None
        return original_check(self, expression)

    cursor.check_db_and_schema = check_db_and_schema
