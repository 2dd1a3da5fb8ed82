"""(d) The admin's escalation list and its live endpoint over the seeded 1,000,000 escalations
across 100 tenants, as a superuser (sees all) and as one tenant's admin (sees 10,000): p95 time
and SQL statements per request (the server's X-Bench-Queries header).

One request at a time, like one person's browser (the live endpoint is polled). A URL that answers
404 is not built in this tree: its row says so instead of failing.
"""

from __future__ import annotations

import datetime as dt

from bench.load import build, closed_loop
from bench.report import Row, failures, ms, p, under
from bench.scenarios.context import Context

PAGES = (
    ("escalation list", "/admin/conversations/escalation/"),
    ("escalation list, status=open", "/admin/conversations/escalation/?status__exact=open"),
    ("live endpoint", "/admin/conversations/escalation/live/"),
)
MAX_REQUESTS = 60


async def run(ctx: Context) -> list[Row]:
    rows = []
    for who, session in ctx.cookies.items():
        for figure, path in PAGES:
            rows.append(await _measure(ctx, who, figure, path, session))
    return rows


async def _measure(ctx: Context, who: str, figure: str, path: str, session: str) -> Row:
    headers = {"Cookie": f"sessionid={session}", "Accept": "text/html,application/json"}
    queries: list[int] = []

    def make(_i: int) -> bytes:
        # The live endpoint as the page polls it: changes since a moment ago (a cursor it was given).
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
        target = f"{path}?since={since}" if path.endswith("/live/") else path
        return build("GET", target, ctx.port, headers=headers)

    def count(_i, response) -> None:
        if "x-bench-queries" in response.headers:
            queries.append(int(response.headers["x-bench-queries"]))

    probe = await closed_loop(ctx.port, make, concurrency=1, duration=30, max_requests=1)
    scenario = f"admin ({who})"
    status = next(iter(probe.statuses), None)
    if status == 404:
        return Row(scenario, f"{figure} p95", "n/a (not built)", "< 300 ms")
    if status != 200:
        return Row(
            scenario,
            f"{figure} p95",
            "n/a",
            "< 300 ms",
            False,
            note=f"first answer {status}{failures(probe)}",
        )
    result = await closed_loop(
        ctx.port, make, concurrency=1, duration=ctx.duration, max_requests=MAX_REQUESTS, on_response=count
    )
    p95 = p(result, 95)
    spread = (
        f"{min(queries)}-{max(queries)}"
        if queries and min(queries) != max(queries)
        else str(queries[0] if queries else "?")
    )
    value = f"{ms(p95)}, {spread} queries/request, n={result.ok}"
    return Row(
        scenario, f"{figure} p95", value, "< 300 ms", under(p95, 300), note=failures(result).lstrip("; ")
    )
