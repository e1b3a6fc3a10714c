"""COPY's PATTERN option: only the staged files whose path matches the regular expression load.

fakesnow refuses PATTERN ("Unknown copy parameter"). Here it is taken off the statement before
fakesnow reads it and applied to the listing, as Snowflake applies it to bulk loads: to the whole
path of each file in the storage location (the S3 key), matched in full. Patterns that start with
`.*` (the README's advice) mean the same in either reading of "whole path".
"""

from __future__ import annotations

import contextvars
import re

from local.emulator.copy_errors import unsupported
from local.emulator.fakesnow_internals import replace

_pattern: contextvars.ContextVar[re.Pattern | None] = contextvars.ContextVar(
    "copy_pattern", default=None
)


def take_pattern(expr) -> re.Pattern | None:
    """Remove PATTERN = '<regex>' from a parsed COPY; return it compiled (None if absent)."""
    params = expr.args.get("params") or []
    kept, found = [], None
    for param in params:
        if getattr(param.this, "name", "").upper() == "PATTERN":
            text = param.expression.name if param.expression is not None else ""
            try:
                found = re.compile(text)
            except re.error as exc:
                raise unsupported(
                    f"PATTERN = '{text}'", f"not a regular expression: {exc}"
                ) from None
        else:
            kept.append(param)
    if found is not None:
        expr.set("params", kept)
    return found


def matches(pattern: re.Pattern, url: str) -> bool:
    """Whether a listed file (scheme://bucket/key) matches: the key, in full."""
    _, _, path = url.partition("://")
    key = path.partition("/")[2]
    return pattern.fullmatch(key) is not None


def install() -> None:
    def copy_into(duck_conn, current_database, current_schema, expr, *args, **kwargs):
        token = _pattern.set(take_pattern(expr))
        try:
            return original_copy(duck_conn, current_database, current_schema, expr, *args, **kwargs)
        finally:
            _pattern.reset(token)

    def source_files(source: str, duck_conn) -> list[str]:
        urls = original_listing(source, duck_conn)
        pattern = _pattern.get()
        return urls if pattern is None else [url for url in urls if matches(pattern, url)]

    original_copy = replace("fakesnow.cursor", "copy_into", "copy_pattern", copy_into)
    original_listing = replace("fakesnow.copy_into", "_source_glob", "copy_pattern", source_files)
