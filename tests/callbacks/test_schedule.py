"""The periodic sweeps are scheduled for beat and name tasks that exist."""

from django.conf import settings

from hitl_portal.celery import app


def test_beat_runs_the_callback_sweeps():
    app.loader.import_default_modules()
    entries = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    # Due retries and expired claims every few seconds: a lost worker's callback resumes within 15 s.
    assert (
        entries["conversations.tasks.callbacks.sweep_due_callbacks"] == settings.HITL_CALLBACK_SWEEP_SECONDS
    )
    assert settings.HITL_CALLBACK_SWEEP_SECONDS + settings.HITL_CALLBACK_CLAIM_LEASE_SECONDS < 15
    assert entries["conversations.tasks.callbacks.expire_unassigned_escalations"] == 60.0
    for name in entries:
        assert name in app.tasks


def test_default_retries_last_at_least_a_day_with_waits_under_the_visibility_timeout():
    from hitl_portal.settings import base  # the defaults, not this test run's overrides

    assert base.HITL_CALLBACK_MAX_AGE_HOURS >= 24
    assert base.HITL_CALLBACK_RETRY_SCHEDULE == [10, 30, 60, 300, 900, 3600]
    visibility_timeout = base.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert max(base.HITL_CALLBACK_RETRY_SCHEDULE) <= visibility_timeout
    assert (base.HITL_CALLBACK_CONNECT_TIMEOUT, base.HITL_CALLBACK_READ_TIMEOUT) == (3.0, 10.0)
