"""The token refresh claims the connection with a typed claim, not a row lock held across HubSpot.

While HubSpot's token endpoint (a real HTTP server on 127.0.0.1) answers, the Connection row stays
free: another database connection can lock it at once, and a disconnect or a new consent goes
through without waiting. A refresh whose claim was cleared meanwhile stores nothing. Other callers
wait for the claim's holder and reuse its token; a claim left by a dead worker lapses.
"""

import datetime as dt
import json
import threading
import uuid

import pytest
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from connections import consent, services
from connections.hubspot import HubSpotNotConnected, HubSpotTokenRefreshBusy
from connections.hubspot import tokens as token_store
from connections.hubspot.oauth import TokenInfo, TokenResponse
from connections.hubspot.tokens import get_access_token
from connections.models import Connection, ConnectionStatus, ErrorOrigin
from core.secrets import SecretStr
from tests.http_receiver import HTTPReceiver, Reply, Request
from tests.hubspot_client.conftest import load_fixture
from tests.hubspot_client.factories import PORTAL_ID, ConnectionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TOKEN_PATH = "/oauth/2026-03/token"
#: How long a test lets a concurrent admin action run while HubSpot holds the token request.
ADMIN_ACTION_SECONDS = 3


def granted(access_token: str = "at-new") -> Reply:
    body = {
        "access_token": access_token,
        "refresh_token": "rt-rotated",
        "expires_in": 1800,
        "token_type": "bearer",
        "token_use": "access_token",
        "hub_id": PORTAL_ID,
    }
    return Reply(body=json.dumps(body).encode(), content_type="application/json;charset=utf-8")


@pytest.fixture
def token_endpoint(settings):
    server = HTTPReceiver()
    with server:
        settings.HUBSPOT_API_BASE = server.url("")
        yield server


@pytest.fixture
def expired():
    return ConnectionFactory(access_token_expires_at=timezone.now() - dt.timedelta(minutes=1))


def lockable_elsewhere(pk: int) -> bool:
    """Whether this thread's own database connection can lock the row without waiting."""
    try:
        with transaction.atomic():
            list(Connection.objects.filter(pk=pk).select_for_update(nowait=True))
        return True
    except DatabaseError:
        return False
    finally:
        db_connection.close()


def run_beside(action, finished: list, started: list) -> None:
    """Run `action` on its own database connection; note whether it ended while HubSpot answered."""

    def work():
        try:
            action()
        finally:
            db_connection.close()

    thread = threading.Thread(target=work)
    started.append(thread)
    thread.start()
    thread.join(timeout=ADMIN_ACTION_SECONDS)
    finished.append(not thread.is_alive())


def test_the_row_is_free_while_hubspot_answers_the_refresh(token_endpoint, expired):
    seen = []

    def answer(request: Request) -> Reply:
        seen.append(lockable_elsewhere(expired.pk))
        return granted()

    token_endpoint.respond = answer

    assert get_access_token(expired.pk) == "at-new"

    assert seen == [True]
    stored = Connection.objects.get(pk=expired.pk)
    assert (stored.access_token, stored.refresh_token) == ("at-new", "rt-rotated")
    assert (stored.token_refresh_claim, stored.token_refresh_claimed_until) == (None, None)


@pytest.mark.parametrize("outcome", ["granted", "refused"])
def test_a_disconnect_during_the_refresh_goes_through_and_no_token_is_stored(
    token_endpoint, expired, outcome
):
    finished, started = [], []

    def answer(request: Request):
        if request.path != TOKEN_PATH:
            return 204  # the disconnect revoking the refresh token
        run_beside(lambda: services.disconnect(Connection.objects.get(pk=expired.pk)), finished, started)
        if outcome == "granted":
            return granted()
        body = json.dumps(load_fixture("oauth_token__invalid_grant")).encode()
        return Reply(status=400, body=body)

    token_endpoint.respond = answer

    with pytest.raises(HubSpotNotConnected):
        get_access_token(expired.pk)

    for thread in started:
        thread.join(timeout=30)
    assert finished == [True]  # not held up by the refresh
    stored = Connection.objects.get(pk=expired.pk)
    assert (stored.access_token, stored.refresh_token, stored.access_token_expires_at) == ("", "", None)
    assert stored.status == ConnectionStatus.DISCONNECTED
    assert (stored.last_error, stored.error_origin) == ("", ErrorOrigin.NONE)
    assert stored.token_refresh_claim is None
    with pytest.raises(HubSpotNotConnected):
        get_access_token(expired.pk)


def test_a_new_consent_during_the_refresh_keeps_its_tokens(token_endpoint, expired):
    finished, started = [], []
    info = TokenInfo(
        hub_id=PORTAL_ID,
        app_id=None,
        user="admin@example.com",
        user_id=None,
        hub_domain=expired.hub_domain,
        scopes=("oauth",),
        expires_in=1800,
        token_type="bearer",
    )
    consented = TokenResponse(
        access_token=SecretStr("at-consent"), refresh_token=SecretStr("rt-consent"), expires_in=1800
    )

    def answer(request: Request) -> Reply:
        run_beside(
            lambda: consent._store(None, expired.tenant, expired.app, expired.pk, consented, info),
            finished,
            started,
        )
        return granted()

    token_endpoint.respond = answer

    get_access_token(expired.pk)

    for thread in started:
        thread.join(timeout=30)
    assert finished == [True]
    stored = Connection.objects.get(pk=expired.pk)
    assert (stored.access_token, stored.refresh_token) == ("at-consent", "rt-consent")
    assert get_access_token(expired.pk) == "at-consent"


def _claimed_elsewhere(connection, *, for_seconds: float) -> uuid.UUID:
    claim = uuid.uuid4()
    Connection.objects.filter(pk=connection.pk).update(
        token_refresh_claim=claim,
        token_refresh_claimed_until=timezone.now() + dt.timedelta(seconds=for_seconds),
    )
    return claim


def test_a_caller_waits_for_the_claim_holder_and_reuses_its_token(token_endpoint, expired):
    claim = _claimed_elsewhere(expired, for_seconds=60)

    def holder_records():
        # The worker holding the claim stores its token and clears the claim, as a refresh does.
        row = Connection.objects.get(pk=expired.pk, token_refresh_claim=claim)
        row.access_token = "at-from-the-holder"
        row.access_token_expires_at = timezone.now() + dt.timedelta(minutes=30)
        row.token_refresh_claim = row.token_refresh_claimed_until = None
        row.save()
        db_connection.close()

    timer = threading.Timer(0.5, holder_records)
    timer.start()
    try:
        assert get_access_token(expired.pk) == "at-from-the-holder"
    finally:
        timer.join()
    assert token_endpoint.requests == []


def test_a_dead_workers_claim_lapses_and_the_next_caller_refreshes(token_endpoint, expired):
    token_endpoint.respond = lambda request: granted()
    _claimed_elsewhere(expired, for_seconds=0.5)

    assert get_access_token(expired.pk) == "at-new"

    assert len(token_endpoint.requests) == 1
    stored = Connection.objects.get(pk=expired.pk)
    assert (stored.token_refresh_claim, stored.token_refresh_claimed_until) == (None, None)


def test_waiting_for_a_live_claim_is_bounded(token_endpoint, expired, monkeypatch):
    monkeypatch.setattr(token_store, "REFRESH_WAIT_SECONDS", 0.5)
    _claimed_elsewhere(expired, for_seconds=60)
    started = timezone.now()

    with pytest.raises(HubSpotTokenRefreshBusy) as caught:
        get_access_token(expired.pk)

    assert caught.value.retryable
    assert timezone.now() - started < dt.timedelta(seconds=5)
    assert token_endpoint.requests == []
