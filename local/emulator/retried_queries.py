"""A re-sent query (same requestId) gets its first answer, as from Snowflake.

Snowflake answers a long query within 45 s ("in progress") and the connector polls; fakesnow
answers only when done, so after its 60 s socket timeout the connector sends the query again.
fakesnow would refuse it ("connection is busy") or run it twice. Here queries of one session
run one at a time, and a re-sent one gets the first answer.
"""

from __future__ import annotations

QUERY_ROUTE = "/queries/v1/query-request"


def install(app, remembered: int = 256) -> None:
    import asyncio
    from collections import OrderedDict

    from starlette.routing import request_response

    from local.emulator.fakesnow_internals import FakesnowChanged

    route = next((r for r in app.routes if getattr(r, "path", "") == QUERY_ROUTE), None)
    if route is None:
        raise FakesnowChanged(
            f"fakesnow's server has no {QUERY_ROUTE} route: local/emulator/retried_queries.py "
            "needs review"
        )
    original = route.endpoint
    session_locks: dict[str, asyncio.Lock] = {}
    answers: OrderedDict = OrderedDict()

    async def query_request(request):
        request_id = request.query_params.get("requestId")
        if not request_id:
            return await original(request)
        lock = session_locks.setdefault(request.headers.get("Authorization", ""), asyncio.Lock())
        async with lock:
            if (answer := answers.get(request_id)) is None:
                answer = answers[request_id] = await original(request)
                while len(answers) > remembered:
                    answers.popitem(last=False)
            return answer

    route.endpoint = query_request
    route.app = request_response(query_request)
