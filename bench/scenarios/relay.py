"""(b) Relay latency: an agent's reply webhook (OUTGOING_CHANNEL_MESSAGE_CREATED, signed) arrives
at /webhooks/hubspot/<token>/channel/ → the bot's callback (escalation.message, signed) arrives
at the receiver. Open loop at 100 events/s, spread over many assigned escalations (the callbacks
of one escalation are strictly ordered, so one hot escalation would measure its queue instead).

Latency is from the first byte of the webhook written to the callback's headers read, both on
the machine's monotonic clock: the webhook's own ack is inside it.
"""

from __future__ import annotations

import asyncio
import contextlib

from bench.hubspot import agent_reply, relay_prefix
from bench.load import open_loop, percentile
from bench.report import Row, failures, ms, p, under
from bench.scenarios.context import Context

# The target's rate, and a tenth of it: what the latency is when the machine keeps up.
RATES = (10, 100)  # events/s
TARGET_RATE = 100
ESCALATIONS = 300
SETTLE_SECONDS = 45  # waiting for the last callbacks after the last webhook
# The portal's processes: the web server that takes the webhook and the worker that relays it.
PORTAL = ("portal", "worker")
CPU_TARGET_MS = 5  # the aim per relayed message


async def run(ctx: Context, escalations: list[dict]) -> list[Row]:
    rows = []
    for rate in RATES:
        rows += await _at(ctx, escalations, rate)
    return rows


async def _at(ctx: Context, escalations: list[dict], rate: int) -> list[Row]:
    path = ctx.path_of(ctx.provisioned["channel_webhook_url"])
    portal_id = int(ctx.provisioned["portal_id"])
    channel_id = str(ctx.provisioned["channel_id"])
    prefix = relay_prefix(ctx.run_id, rate)
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}
    done = asyncio.Event()
    total = int(rate * ctx.duration)

    def on_event(envelope: dict, received: float) -> None:
        text = str((envelope.get("data") or {}).get("text") or "")
        if envelope.get("type") == "escalation.message" and text.startswith(prefix):
            i = int(text.removeprefix(prefix))
            arrived.setdefault(i, received)
            if len(arrived) >= total:
                done.set()

    def make(i: int) -> bytes:
        escalation = escalations[i % len(escalations)]
        body = agent_reply(escalation, marker=f"{prefix}{i}", portal_id=portal_id, channel_id=channel_id)
        return ctx.signer.request(path, body)

    ctx.receiver.on_event = on_event
    portal_cpu, sandbox_cpu = ctx.cpu_seconds(*PORTAL), ctx.cpu_seconds("sandbox")
    acks = await open_loop(ctx.port, make, rate=rate, duration=ctx.duration, on_sent=sent.__setitem__)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), SETTLE_SECONDS)
    portal_cpu = ctx.cpu_seconds(*PORTAL) - portal_cpu
    sandbox_cpu = ctx.cpu_seconds("sandbox") - sandbox_cpu
    latencies = [arrived[i] - sent[i] for i in arrived if i in sent]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    missing = len(sent) - len(arrived)
    note = f"{len(arrived)}/{len(sent)} callbacks received" + (
        f", {missing} missing after {SETTLE_SECONDS} s" if missing else ""
    )
    if arrived and sent:
        # What the machine sustained: callbacks per second from the first reply sent to the last
        # callback received (below the offered rate when a backlog built up).
        span = max(arrived.values()) - min(sent.values())
        note += f"; {len(arrived) / span:.0f} callbacks/s sustained" if span > 0 else ""
    if len(sent) < total:
        note += f"; {total - len(sent)} replies not sent: 200 already in flight"
    s = f"relay {rate}/s"
    judged = rate == TARGET_RATE  # the targets are stated at 100 events/s
    return [
        Row(
            s,
            "reply webhook ack",
            f"p50 {ms(p(acks, 50))}, p99 {ms(p(acks, 99))}",
            note=failures(acks).lstrip("; "),
        ),
        Row(
            s,
            "webhook → callback p50",
            ms(p50),
            "< 50 ms" if judged else "",
            (under(p50, 50) and not missing and len(sent) == total) if judged else None,
            note=note,
        ),
        Row(
            s,
            "webhook → callback p99",
            ms(p99),
            "< 250 ms" if judged else "",
            (under(p99, 250) and not missing and len(sent) == total) if judged else None,
        ),
        Row(
            s,
            "portal CPU per relayed message",
            cpu_row(portal_cpu, len(arrived)),
            f"<= {CPU_TARGET_MS} ms" if judged else "",
            (bool(arrived) and portal_cpu * 1000 / len(arrived) <= CPU_TARGET_MS) if judged else None,
            note=f"gunicorn + Celery worker, user + system; sandbox {cpu_row(sandbox_cpu, len(arrived))}",
        ),
        Row(
            s,
            "callbacks the bot refused",
            f"{ctx.receiver.rejected} bad signature, {ctx.receiver.errors} errors",
            "0",
            ctx.receiver.rejected == ctx.receiver.errors == 0,
        ),
    ]


def cpu_row(seconds: float, messages: int) -> str:
    if not messages:
        return "n/a"
    return f"{seconds * 1000 / messages:.1f} ms"
