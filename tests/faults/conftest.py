"""Fault tests' fixtures. Each scenario records its counts with `figures("Fault tests", **row)`
(tests/figures.py), printed as one table in the run's summary, so they appear in `make test` and
CI output without `-s`."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import e2e_settings, provisioned  # noqa: F401 - fixtures reused as they are
from tests.faults.bot import FaultyBot
from tests.faults.redis_server import RedisServer
from tests.webhooks.conftest import platform_app, platform_connection  # noqa: F401


@pytest.fixture(autouse=True)
def no_queue_updates(settings):
    """The scenarios pin each escalation's exact events; queue moves among their many waiting
    escalations (escalation.queue_updated, tested in tests/conversations and tests/e2e) are held
    back by a rate bound longer than any scenario (workers started after this inherit it)."""
    settings.HITL_QUEUE_UPDATE_MIN_SECONDS = 24 * 3600


@pytest.fixture
def faulty_bot(provisioned):  # noqa: F811 - the fixture imported above
    bot = FaultyBot(provisioned["callback_secret"]).start()
    yield bot
    bot.stop()


@pytest.fixture
def fault_worker(e2e_settings, start_celery_worker):  # noqa: F811
    """A real worker started after e2e_settings pointed every URL at the live server."""
    return start_celery_worker("faults")


@pytest.fixture
def own_broker(e2e_settings, tmp_path):  # noqa: F811
    """A redis-server of the test's own as the broker (the worker's, started after this, and this
    process's), for a test that crashes and restarts it. The sweeps' grace is short: World.beat
    runs them here, with this process's settings."""
    broker = RedisServer(tmp_path / "redis").start()
    e2e_settings.TEST_REDIS_URL = broker.url  # tests/worker.py: the worker's and our broker
    e2e_settings.HITL_SWEEP_GRACE_SECONDS = 2
    yield broker
    broker.stop()
