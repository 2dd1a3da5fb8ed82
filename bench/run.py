"""`make bench`: start the portal on its production profile (gunicorn, a Celery worker, PostgreSQL,
Redis), a HubSpot sandbox server and a bot, seed, run the scenarios, print one table.

    python -m bench.run [--reseed] [--duration 10] [--escalations 1000000] [--tenants 100]

Every process it starts is stopped on the way out, also on Ctrl-C, SIGTERM or a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import signal
import sys
import time
import traceback

from bench import seed, servers
from bench.env import REDIS_URL, VAR, Ports, have_secrets, orchestrator_env, portal_env, sandbox_env
from bench.report import Row, machine, render

SCENARIOS = ("ingest", "relay", "botapi", "admin")


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reseed", action="store_true", help="drop the bench database and seed it again")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    parser.add_argument("--escalations", type=int, default=seed.ADMIN_ESCALATIONS)
    parser.add_argument("--tenants", type=int, default=seed.ADMIN_TENANTS)
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {', '.join(SCENARIOS)} (default: all)",
    )
    return parser.parse_args(argv)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through `finally`, which stops the processes


def main(argv=None) -> int:
    args = _arguments(argv)
    wall = time.monotonic()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    # Ctrl-C raises KeyboardInterrupt even where the shell started us with SIGINT ignored (`&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ports = Ports.pick()
    # Without the keys that encrypted a kept database's secrets, it is of no use: start afresh.
    reseed = args.reseed or not have_secrets()
    os.environ.update(orchestrator_env(ports))
    seed.ensure_database(reseed=reseed, keys=os.environ["FIELD_ENCRYPTION_KEYS"])
    import django

    django.setup()
    procs = servers.Processes()
    try:
        return _run(args, ports, procs, wall)
    except (KeyboardInterrupt, SystemExit):
        _say("interrupted: stopping the processes it started")
        raise
    finally:
        procs.stop()


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _run(args, ports: Ports, procs: servers.Processes, wall: float) -> int:
    import redis

    from hitl_portal.celery import app as celery_app

    _say("migrating and collecting static files")
    seed.prepare_schema(portal_env(ports))
    redis.Redis.from_url(REDIS_URL).flushdb()  # the bench's own Redis db: stale tasks, caches
    _say("starting the sandbox, the portal (gunicorn) and a Celery worker")
    servers.start_sandbox(procs, ports.sandbox, sandbox_env(ports))
    servers.start_portal(procs, ports.portal, portal_env(ports))
    servers.start_worker(procs, portal_env(ports))
    servers.wait_http(procs, ports.url("sandbox") + "/sandbox/api/")
    servers.wait_http(procs, ports.url("portal") + "/bench/baseline/")
    servers.wait_worker(procs, celery_app)
    _say("provisioning the sandbox connection")
    provisioned = seed.provision()
    _say(f"seeding {args.escalations:,} escalations across {args.tenants} tenants (kept between runs)")
    seeded = seed.seed_admin(tenants=args.tenants, escalations=args.escalations)
    _say(("reused the seed" if seeded["reused"] else "seeded") + f" in {seeded['seconds']:.1f} s")
    cookies = seed.admin_sessions()
    run_id = secrets.token_hex(4)
    from bench.receiver import Receiver

    receiver = Receiver(ports.receiver, provisioned["callback_secret"], lambda *_: None)
    relay_escalations = seed.relay_escalations(provisioned, _relay_count(), receiver.url, run_id)
    seed.relay_sandbox_messages(provisioned, relay_escalations, run_id, _relay_replies(args.duration))
    seed.vacuum_seeded_tables()
    _say(f"portal quiet after {servers.wait_quiet(procs, 'portal'):.0f} s")
    rows = asyncio.run(
        _scenarios(args, ports, provisioned, receiver, celery_app, run_id, cookies, relay_escalations, procs)
    )
    header = _header(ports, seeded, args, wall)
    table = render(rows, header)
    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / "last-run.txt").write_text(table + "\n")
    print("\n" + table, flush=True)
    return 1 if any(r.value.startswith("error") for r in rows) else 0


def _quiet(procs: servers.Processes) -> float:
    return sum(servers.wait_quiet(procs, name, timeout=60) for name in ("worker", "portal"))


def _relay_count() -> int:
    from bench.scenarios.relay import ESCALATIONS

    return ESCALATIONS


def _relay_replies(duration: float) -> dict[int, int]:
    """How many replies the relay scenario sends at each of its rates."""
    from bench.scenarios.relay import RATES

    return {rate: int(rate * duration) for rate in RATES}


async def _scenarios(
    args, ports, provisioned, receiver, celery_app, run_id, cookies, relay_escalations, procs
):
    from bench.hubspot import Signer
    from bench.scenarios import admin, botapi, ingest, relay
    from bench.scenarios.context import Context

    await receiver.start()
    ctx = Context(
        port=ports.portal,
        public_base_url=ports.url("portal"),
        signer=Signer(provisioned["client_secret"], ports.url("portal"), ports.portal),
        provisioned=provisioned,
        receiver=receiver,
        celery_app=celery_app,
        run_id=run_id,
        cookies=cookies,
        duration=args.duration,
        cpu_seconds=procs.cpu_seconds,
    )
    plan = [
        ("ingest", ingest.run, ()),
        ("relay", relay.run, (relay_escalations,)),
        ("botapi", botapi.run, ()),
        ("admin", admin.run, ()),
    ]
    wanted = {name.strip() for name in args.scenarios.split(",")}
    plan = [step for step in plan if step[0] in wanted]
    rows: list[Row] = []
    try:
        for index, (name, scenario, extra) in enumerate(plan):
            if index:
                # What the last scenario left queued (the relay's backlog at 100/s, the bot API's
                # publishes) is worked off first, not measured as this scenario's latency. Off the
                # event loop: the bot's receiver must go on answering the callbacks meanwhile.
                waited = await asyncio.to_thread(_quiet, procs)
                _say(f"portal and worker quiet after {waited:.0f} s")
            _say(f"scenario: {name}")
            try:
                procs.check_alive()
                rows += await scenario(ctx, *extra)
            except Exception as exc:  # one broken scenario must not hide the others' figures
                traceback.print_exc()
                rows.append(Row(name, "scenario", f"error: {type(exc).__name__}: {exc}"[:160], passed=False))
    finally:
        await receiver.stop()
    return rows


def _header(ports, seeded, args, wall) -> list[str]:
    import redis
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    rv = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]
    web = servers.booted_workers("portal")
    return [
        f"make bench — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"wall time {time.monotonic() - wall:.0f} s",
        *machine({"PostgreSQL": pg, "Redis": rv}),
        f"Portal: production profile, gunicorn {web} workers"
        + (
            ""
            if (servers.BASE_DIR / "gunicorn.conf.py").exists()
            else f" x {servers.WEB_THREADS} threads (gthread)"
        )
        + f"; Celery worker concurrency {servers.CELERY_CONCURRENCY} (prefork), Redis broker; no beat",
        "HubSpot: the sandbox app in a separate gunicorn (2 workers x 4 threads, local profile, same "
        "PostgreSQL database, its own tables); the bot: an asyncio receiver in the load generator.",
        "The load generator (one asyncio process) shares the machine's cores with everything above.",
        f"Admin data: {args.escalations:,} escalations across {args.tenants} tenants "
        + ("(reused)" if seeded["reused"] else f"(seeded in {seeded['seconds']:.0f} s)")
        + f"; each measured run lasts up to {args.duration:.0f} s.",
    ]


if __name__ == "__main__":
    sys.exit(main())
