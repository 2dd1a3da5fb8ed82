"""Fault tests: fixtures, and the figures table printed at the end of the run.

Each scenario records its counts with the `figures` fixture. They travel as the test report's
`user_properties` (which pytest-xdist also carries back from its workers), and
`pytest_terminal_summary` prints them as one table, so they appear in `make test` and CI output
without `-s`.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import e2e_settings, provisioned  # noqa: F401 - fixtures reused as they are
from tests.faults.bot import FaultyBot
from tests.webhooks.conftest import platform_app, platform_connection  # noqa: F401

FIGURES_KEY = "fault_figures"
COLUMNS = [
    ("scenario", "scenario"),
    ("escalations", "esc"),
    ("bot_expected", "bot events expected"),
    ("bot_delivered", "delivered (distinct ids)"),
    ("hubspot_expected", "to HubSpot expected"),
    ("hubspot_held", "held once"),
    ("webhook_duplicates", "dup webhook events suppressed"),
    ("failed_callbacks", "failed callback POSTs"),
    ("redelivered_ids", "redelivered event ids"),
    ("redelivered_posts", "redelivered POSTs"),
    ("out_of_order", "out of order"),
    ("seconds", "wall s"),
]


@pytest.fixture
def figures(request):
    """Call with a scenario's figures dict (see World.check) to have it printed in the summary."""

    def record(row: dict) -> None:
        request.node.user_properties.append((FIGURES_KEY, json.dumps(row)))

    return record


@pytest.fixture
def faulty_bot(provisioned):  # noqa: F811 - the fixture imported above
    bot = FaultyBot(provisioned["callback_secret"]).start()
    yield bot
    bot.stop()


@pytest.fixture
def fault_worker(e2e_settings, start_celery_worker):  # noqa: F811
    """A real worker started after e2e_settings pointed every URL at the live server."""
    return start_celery_worker("faults")


def pytest_terminal_summary(terminalreporter):
    rows = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", "") != "call":
                continue
            rows += [json.loads(v) for k, v in getattr(report, "user_properties", ()) if k == FIGURES_KEY]
    if not rows:
        return
    table = [[label for _, label in COLUMNS]] + [[str(r.get(key, "")) for key, _ in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    terminalreporter.section("fault test figures (real worker, PostgreSQL, Redis)")
    for n, row in enumerate(table):
        terminalreporter.write_line(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            terminalreporter.write_line("-+-".join("-" * w for w in widths))
