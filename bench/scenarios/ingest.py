"""(a) Webhook ingest: HubSpot-signed batches of 1 and 100 new events to /webhooks/hubspot/<token>/app/
at HubSpot's default concurrency (10) and higher (50), beside the baseline view at the same
concurrency with the same 1-event body.

The worker's consumer is paused while it runs: these are the figures of the ack path (verify,
store, enqueue), which HubSpot waits for; on a deployment the workers run on other cores or
machines. The backlog is purged afterwards and the events left pending are marked ignored.
"""

from __future__ import annotations

import asyncio
import itertools

from bench.hubspot import app_events
from bench.load import build, closed_loop
from bench.report import Row, failures, ms, p, under
from bench.scenarios.context import Context

CONCURRENCIES = (10, 50)
QUEUE = "celery"


async def run(ctx: Context) -> list[Row]:
    path = ctx.path_of(ctx.provisioned["app_webhook_url"])
    portal_id, app_id = int(ctx.provisioned["portal_id"]), int(ctx.provisioned["app_id"])
    next_id = itertools.count(int(ctx.run_id, 16) % 10**9 * 10**6)
    one_body = app_events(0, 1, portal_id=portal_id, app_id=app_id)

    def baseline(_i):
        return build("POST", "/bench/baseline/", ctx.port, one_body, {"Content-Type": "application/json"})

    def batch(size):
        def make(_i):
            first = next(next_id)
            for _ in range(size - 1):
                next(next_id)
            return ctx.signer.request(path, app_events(first, size, portal_id=portal_id, app_id=app_id))

        return make

    rows: list[Row] = []
    ctx.celery_app.control.cancel_consumer(QUEUE, reply=True, timeout=5)
    try:
        for concurrency in CONCURRENCIES:
            kw = {"concurrency": concurrency, "duration": ctx.duration, "max_requests": 200_000}
            base = await timed(ctx, closed_loop(ctx.port, baseline, **kw))
            one = await timed(ctx, closed_loop(ctx.port, batch(1), **kw))
            hundred = await timed(ctx, closed_loop(ctx.port, batch(100), **{**kw, "max_requests": 20_000}))
            rows += _rows(concurrency, base, one, hundred)
    finally:
        ctx.celery_app.control.purge()
        await asyncio.to_thread(_settle_events)  # the ORM is not for the event loop's thread
        ctx.celery_app.control.add_consumer(QUEUE, reply=True, timeout=5)
    return rows


async def timed(ctx: Context, loop):
    """The run's result, with the portal's CPU milliseconds per answered request on it (`cpu_ms`):
    a figure that depends far less on what else the machine runs than the rates do."""
    before = ctx.cpu_seconds("portal")
    result = await loop
    answered = len(result.latencies)
    result.cpu_ms = (ctx.cpu_seconds("portal") - before) * 1000 / answered if answered else None
    return result


def cpu_text(result) -> str:
    return "" if result.cpu_ms is None else f", portal CPU {result.cpu_ms:.2f} ms/request"


def _settle_events() -> None:
    """Leave the ~200,000 events just stored as a deployment's autovacuum would within a minute or
    so: settled, vacuumed and analyzed.

    Without the statistics the next scenario runs on those of an empty table: PostgreSQL then
    answers processing's "earlier pending events of this thread?" by scanning every pending event
    (87 ms a task instead of well under 1 ms, measured). Without the VACUUM (this machine's
    PostgreSQL may run with autovacuum off) the pending events' partial index keeps an entry for
    each of the 200,000 rows just settled: the relay's first claims and "earlier pending?" reads
    visit their dead heap rows until the index learns they are gone, and its first drains took
    0.3-0.8 s each (py-spy: half of it waiting for those reads), the relay's p99 at 10/s."""
    from django.db import connection

    from conversations.models import HubSpotEvent, WebhookReceipt
    from conversations.webhooks import wakeup

    try:
        with connection.cursor() as cursor:
            # The ~200,000 events left pending are about threads that are not ours: settled as
            # processing would settle them (ignored), so the drain a webhook request wakes does not
            # spend the relay scenario working through them first. The drain queued during the
            # run was purged with the backlog: its flag goes too.
            cursor.execute(
                f'UPDATE "{HubSpotEvent._meta.db_table}" SET "status" = %s WHERE "status" = %s',  # noqa: S608
                [HubSpotEvent.Status.IGNORED.value, HubSpotEvent.Status.PENDING.value],
            )
            wakeup.clear()
            for model in (HubSpotEvent, WebhookReceipt):  # in autocommit: VACUUM refuses a transaction
                cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
    finally:
        connection.close()  # this thread's own connection


def _rows(c: int, base, one, hundred) -> list[Row]:
    s = f"ingest c={c}"
    ratio = one.rate / base.rate if base.rate else 0.0
    return [
        Row(
            s,
            "baseline 204 view",
            f"{base.rate:.0f} req/s, p50 {ms(p(base, 50))}, p99 {ms(p(base, 99))}{cpu_text(base)}",
            note=failures(base).lstrip("; "),
        ),
        Row(
            s,
            "1-event batch",
            f"{one.rate:.0f} req/s = {one.rate:.0f} events/s, p50 {ms(p(one, 50))}, p99 {ms(p(one, 99))}"
            + cpu_text(one),
            note=failures(one).lstrip("; "),
        ),
        Row(s, "1-event vs baseline req/s", f"{ratio:.0%}", ">= 50 %", ratio >= 0.5),
        Row(
            s,
            "100-event batch",
            f"{hundred.rate:.1f} req/s, p50 {ms(p(hundred, 50))}{cpu_text(hundred)}",
            note=failures(hundred).lstrip("; "),
        ),
        Row(s, "100-event batch ack p99", ms(p(hundred, 99)), "< 50 ms", under(p(hundred, 99), 50)),
        Row(
            s,
            "events/s ingested (100-event)",
            f"{hundred.rate * 100:.0f} events/s",
            ">= 10,000",
            hundred.rate * 100 >= 10_000,
        ),
    ]
