"""Every statement the emulator cannot run fails as a SQL error, at once, as Snowflake's would.

fakesnow turns only some DuckDB errors into Snowflake errors; any other exception (DuckDB's
Invalid Input, Out of Range, Constraint and Transaction errors, a statement sqlglot cannot parse, a
fakesnow bug) becomes an HTTP 500, which the connector retries for ten minutes or more before it
gives up, and the caller sees neither the cause nor the statement. Here:
- in the cursor, such an exception is a ProgrammingError with DuckDB's message: 100072 for a NOT
  NULL column (Snowflake's "NULL result in a non-nullable column"), 000603 for anything else;
- a statement sqlglot cannot parse is a syntax error (001003) where the server parses it first;
- anything that still escapes is answered as a 000603 SQL error instead of an HTTP 500.
"""

from __future__ import annotations

from local.emulator.copy_errors import INTERNAL_ERRNO
from local.emulator.fakesnow_internals import FakesnowChanged, internal, replace

QUERY_ROUTE = "/queries/v1/query-request"
NOT_NULL_ERRNO = 100072
NOT_NULL_MARKER = "NOT NULL constraint"


def sql_error(exc: BaseException):
    """The Snowflake-style ProgrammingError for an exception fakesnow left unmapped."""
    from snowflake.connector.errors import ProgrammingError

    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else type(exc).__name__
    if NOT_NULL_MARKER in first:
        return ProgrammingError(msg=first, errno=NOT_NULL_ERRNO, sqlstate="22000")
    origin = "" if type(exc).__module__.startswith(("duckdb", "_duckdb")) else "fakesnow "
    return ProgrammingError(
        msg=f"SQL execution internal error: {origin}{type(exc).__name__}: {first}",
        errno=INTERNAL_ERRNO,
        sqlstate="XX000",
    )


def install() -> None:
    """The cursor and the server's parse: installed last, around every other patch."""
    from snowflake.connector.errors import Error
    from sqlglot.errors import ParseError

    cursor = internal("fakesnow.cursor", "FakeSnowflakeCursor", "statement_errors")
    syntax_error = internal("fakesnow.dialect", "syntax_error", "statement_errors")
    original_execute = cursor.execute

    def execute(self, *args, **kwargs):
        try:
            return original_execute(self, *args, **kwargs)
        except Error:
            raise
        except Exception as exc:
            raise sql_error(exc) from exc

    def parse_one(*args, **kwargs):
        try:
            return original_parse(*args, **kwargs)
        except ParseError as exc:
            raise syntax_error(exc) from None

    cursor.execute = execute
    original_parse = replace("fakesnow.server", "parse_one", "statement_errors", parse_one)


def install_route(app) -> None:
    """An HTTP 500 from the query route becomes a SQL error the connector does not retry."""
    import json

    from starlette.responses import JSONResponse
    from starlette.routing import request_response

    route = next((r for r in app.routes if getattr(r, "path", "") == QUERY_ROUTE), None)
    if route is None:
        raise FakesnowChanged(
            f"fakesnow's server has no {QUERY_ROUTE} route: local/emulator/statement_errors.py "
            "needs review"
        )
    original = route.endpoint

    async def query_request(request):
        response = await original(request)
        if response.status_code < 500:
            return response
        # fakesnow's message quotes the statement and its bound values; the emulator's log has
        # them with the traceback.
        said = json.loads(response.body).get("message") or ""
        cause = "unhandled exception" if "Unhandled exception" in said else said[:200]
        code = f"{INTERNAL_ERRNO:06d}"
        return JSONResponse(
            {
                "data": {"errorCode": code, "sqlState": "XX000"},
                "code": code,
                "message": (
                    f"SQL execution internal error: the local emulator failed on this statement "
                    f"({cause}); its log has the traceback"
                ),
                "success": False,
            }
        )

    route.endpoint = query_request
    route.app = request_response(query_request)
