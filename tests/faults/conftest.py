"""Fault tests' fixtures. Each scenario records its counts with `figures("Fault tests", **row)`
(tests/figures.py), printed as one table in the run's summary, so they appear in `make test` and
CI output without `-s`."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import e2e_settings, provisioned  # noqa: F401 - fixtures reused as they are
from tests.faults.bot import FaultyBot
from tests.webhooks.conftest import platform_app, platform_connection  # noqa: F401


@pytest.fixture
def faulty_bot(provisioned):  # noqa: F811 - the fixture imported above
    bot = FaultyBot(provisioned["callback_secret"]).start()
    yield bot
    bot.stop()


@pytest.fixture
def fault_worker(e2e_settings, start_celery_worker):  # noqa: F811
    """A real worker started after e2e_settings pointed every URL at the live server."""
    return start_celery_worker("faults")
