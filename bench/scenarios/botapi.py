"""(c) The bot API: start an escalation (POST /api/v1/escalations/) and send the user's message
(POST /api/v1/escalations/<id>/messages/), closed loop at concurrency 10.

A start looks the user up in HubSpot (contact search) within the request; publishing the intro,
transcript and messages happens in the Celery worker. "HubSpot" is the sandbox server, a
separate process on this machine (so its CPU is part of the load).
"""

from __future__ import annotations

import json

from bench.load import build, closed_loop
from bench.report import Row, failures, ms, p, under
from bench.scenarios.context import Context
from bench.scenarios.ingest import cpu_text, timed

CONCURRENCY = 10
SEND_P99_TARGET_MS = 100
USER = {"name": "Ada Lovelace", "phone": "+44 7700 900001"}  # a contact seeded in the sandbox


async def run(ctx: Context) -> list[Row]:
    auth = {"Authorization": f"Bearer {ctx.provisioned['bot_api_key']}", "Content-Type": "application/json"}
    started: list[str] = []

    def start(i: int) -> bytes:
        body = {
            "conversation_id": f"bench-api-{ctx.run_id}-{i}",
            "user": USER,
            "title": f"Bench escalation {i}",
            "transcript": [
                {"role": "user", "text": "Where is my order?"},
                {"role": "bot", "text": "Checking."},
            ],
            "callback_url": ctx.receiver.url,
        }
        return build("POST", "/api/v1/escalations/", ctx.port, json.dumps(body).encode(), auth)

    def keep(_i, response) -> None:
        if response.status == 201:
            started.append(json.loads(response.body)["id"])

    kw = {"concurrency": CONCURRENCY, "duration": ctx.duration, "max_requests": 50_000}
    starts = await timed(ctx, closed_loop(ctx.port, start, on_response=keep, **kw))
    rows = [_row("start escalation", starts)]
    # Each start searches HubSpot's contacts, which HubSpot limits to 4 searches/s per portal; our
    # client waits for a slot (connections/hubspot/ratelimit.py), and the bench has one portal.
    rows[0].note = "; ".join(filter(None, [rows[0].note, "bound by HubSpot's 4 searches/s per portal"]))
    if not started:
        return [*rows, Row("bot API", "send message", "n/a", note="no escalation started")]

    def message(i: int) -> bytes:
        body = {"text": f"User message {i}", "client_message_id": f"bench-{ctx.run_id}-{i}"}
        path = f"/api/v1/escalations/{started[i % len(started)]}/messages/"
        return build("POST", path, ctx.port, json.dumps(body).encode(), auth)

    sends = await timed(ctx, closed_loop(ctx.port, message, **kw))
    p99 = p(sends, 99)
    return [
        *rows,
        _row("send message", sends),
        Row(
            f"bot API c={CONCURRENCY}",
            "send message p99",
            ms(p99),
            f"< {SEND_P99_TARGET_MS} ms",
            under(p99, SEND_P99_TARGET_MS) and not failures(sends),
        ),
    ]


def _row(figure: str, result) -> Row:
    return Row(
        f"bot API c={CONCURRENCY}",
        figure,
        f"{result.rate:.0f} req/s, p50 {ms(p(result, 50))}, p99 {ms(p(result, 99))}{cpu_text(result)}",
        note=failures(result).lstrip("; "),
    )
