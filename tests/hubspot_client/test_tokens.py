"""get_access_token: reuse while fresh, refresh shortly before expiry, store rotations, and turn a
dead refresh token into a readable ERROR on the connection."""

import datetime as dt
from urllib.parse import parse_qs

import pytest
import requests
from django.utils import timezone

from connections.hubspot import HubSpotInvalidGrant, HubSpotNetworkError, HubSpotNotConnected
from connections.hubspot.errors import HubSpotAuthError
from connections.hubspot.tokens import ERROR_PREFIX, get_access_token
from connections.models import ConnectionStatus, ErrorOrigin
from tests.hubspot_client.conftest import API, load_fixture
from tests.hubspot_client.factories import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN

TOKEN_URL = f"{API}/oauth/2026-03/token"


def _expire_in(connection, seconds):
    connection.access_token_expires_at = timezone.now() + dt.timedelta(seconds=seconds)
    connection.save(update_fields=["access_token_expires_at"])


def test_fresh_token_is_reused_without_a_request(connection, mocked):
    assert get_access_token(connection.pk) == ACCESS_TOKEN
    assert len(mocked.calls) == 0


def test_token_is_refreshed_within_the_margin_before_expiry(connection, mocked, settings):
    settings.HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS = 300
    _expire_in(connection, 299)
    mocked.post(TOKEN_URL, json=load_fixture("oauth_token__refresh"))
    before = timezone.now()

    token = get_access_token(connection.pk)

    assert token == "CJDx-access-new-1111"
    connection.refresh_from_db()
    assert connection.access_token == "CJDx-access-new-1111"
    assert before + dt.timedelta(seconds=1799) <= connection.access_token_expires_at
    assert connection.access_token_expires_at <= timezone.now() + dt.timedelta(seconds=1800)
    assert connection.refresh_token == REFRESH_TOKEN  # not rotated: unchanged
    form = parse_qs(mocked.calls[0].request.body)
    assert form == {
        "grant_type": ["refresh_token"],
        "client_id": [connection.app.client_id],
        "client_secret": [CLIENT_SECRET],
        "refresh_token": [REFRESH_TOKEN],
    }
    assert mocked.calls[0].request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_token_just_outside_the_margin_is_still_used(connection, mocked, settings):
    settings.HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS = 300
    _expire_in(connection, 330)
    assert get_access_token(connection.pk) == ACCESS_TOKEN
    assert len(mocked.calls) == 0


def test_rotated_refresh_token_is_stored(connection, mocked):
    _expire_in(connection, -5)
    mocked.post(TOKEN_URL, json=load_fixture("oauth_token__refresh_rotated"))

    get_access_token(connection.pk)

    connection.refresh_from_db()
    assert connection.refresh_token == "na1-9c2d-rt-rotated-2222"
    assert connection.access_token == "CJDx-access-new-3333"


def test_v3_setting_refreshes_through_oauth_v1(connection, mocked, settings):
    settings.HUBSPOT_API_VERSION = "v3"
    _expire_in(connection, -5)
    mocked.post(f"{API}/oauth/v1/token", json=load_fixture("oauth_token__refresh"))
    assert get_access_token(connection.pk) == "CJDx-access-new-1111"


@pytest.mark.parametrize("fixture", ["oauth_token__bad_refresh_token", "oauth_token__invalid_grant"])
def test_dead_refresh_token_marks_the_connection_error(connection, mocked, fixture):
    _expire_in(connection, -5)
    mocked.post(TOKEN_URL, status=400, json=load_fixture(fixture))

    with pytest.raises(HubSpotInvalidGrant):
        get_access_token(connection.pk)

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ERROR
    assert connection.error_origin == ErrorOrigin.TOKEN_REFRESH
    assert connection.last_error.startswith(ERROR_PREFIX)
    assert "Connect the portal again" in connection.last_error
    assert "correlationId" in connection.last_error
    for secret in (REFRESH_TOKEN, CLIENT_SECRET, ACCESS_TOKEN):
        assert secret not in connection.last_error
    assert connection.refresh_token == REFRESH_TOKEN  # kept for the record; it is dead anyway


def test_refused_client_credentials_mark_the_connection_error(connection, mocked):
    _expire_in(connection, -5)
    mocked.post(TOKEN_URL, status=400, json=load_fixture("oauth_token__bad_client_secret"))

    with pytest.raises(HubSpotAuthError) as caught:
        get_access_token(connection.pk)

    assert not isinstance(caught.value, HubSpotInvalidGrant)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ERROR
    assert "client ID and secret" in connection.last_error


def test_a_later_successful_refresh_clears_our_own_error(connection, mocked):
    connection.status = ConnectionStatus.ERROR
    connection.last_error = "HubSpot refused the app's client credentials"  # however it is worded
    connection.error_origin = ErrorOrigin.TOKEN_REFRESH
    connection.access_token_expires_at = None
    connection.save()
    mocked.post(TOKEN_URL, json=load_fixture("oauth_token__refresh"))

    get_access_token(connection.pk)

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert (connection.last_error, connection.error_origin) == ("", ErrorOrigin.NONE)


@pytest.mark.parametrize(
    "text", ["Channel account was disabled in HubSpot", ERROR_PREFIX + "a text that merely looks like ours"]
)
def test_errors_set_elsewhere_are_left_alone(connection, mocked, text):
    connection.status = ConnectionStatus.ERROR
    connection.last_error = text  # no error_origin: not the token refresh's
    connection.access_token_expires_at = None
    connection.save()
    mocked.post(TOKEN_URL, json=load_fixture("oauth_token__refresh"))

    get_access_token(connection.pk)

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ERROR


def test_network_failure_during_refresh_does_not_mark_error(connection, mocked, transport):
    _expire_in(connection, -5)
    mocked.post(TOKEN_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(HubSpotNetworkError):
        get_access_token(connection.pk, transport=transport)

    assert len(mocked.calls) == 1  # a token grant is not replayed after an unknown outcome
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE


@pytest.mark.parametrize("status", [ConnectionStatus.DISCONNECTED, ConnectionStatus.ACTIVE])
def test_without_credentials_nothing_is_requested(connection, mocked, status):
    connection.status = status
    connection.access_token_expires_at = None
    if status == ConnectionStatus.ACTIVE:
        connection.refresh_token = ""
    connection.save()

    with pytest.raises(HubSpotNotConnected):
        get_access_token(connection.pk)

    assert len(mocked.calls) == 0


def test_a_disconnected_connection_hands_out_no_token_even_if_one_is_stored(connection, mocked):
    connection.status = ConnectionStatus.DISCONNECTED
    connection.save()

    with pytest.raises(HubSpotNotConnected):
        get_access_token(connection.pk)

    assert len(mocked.calls) == 0


def test_force_refreshes_a_token_that_was_refused(connection, mocked):
    mocked.post(TOKEN_URL, json=load_fixture("oauth_token__refresh"))

    token = get_access_token(connection.pk, force=True, rejected=ACCESS_TOKEN)

    assert token == "CJDx-access-new-1111"
    assert len(mocked.calls) == 1


def test_force_reuses_a_token_someone_else_already_refreshed(connection, mocked):
    # The 401 was for an older token; the stored one is already a newer, fresh token.
    token = get_access_token(connection.pk, force=True, rejected="CJDx-an-older-token")

    assert token == ACCESS_TOKEN
    assert len(mocked.calls) == 0
