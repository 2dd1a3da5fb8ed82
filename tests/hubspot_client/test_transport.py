"""Retries, backoff, Retry-After, the 401 refresh, network errors and error mapping, on
HubSpot-shaped answers served by `responses`."""

import random

import pytest
import requests
from responses import matchers

from connections.hubspot import (
    HubSpotAuthError,
    HubSpotError,
    HubSpotMissingScopes,
    HubSpotNetworkError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotServerError,
    HubSpotValidationError,
    Transport,
)
from connections.hubspot.transport import USER_AGENT
from connections.models import Connection
from tests.hubspot_client.conftest import API, load_fixture
from tests.hubspot_client.factories import ACCESS_TOKEN, DEV_KEY

THREAD_URL = f"{API}/conversations/v3/conversations/threads/9001"
CHANNELS_URL = f"{API}/conversations/custom-channels/2026-03"
PUBLISH_URL = f"{API}/conversations/custom-channels/2026-03/1001/messages"
TOKEN_URL = f"{API}/oauth/2026-03/token"


def _publish(client):
    return client.publish_message(
        1001,
        channel_account_id=2001,
        text="hi",
        senders=[{"deliveryIdentifier": {"type": "HS_EMAIL_ADDRESS", "value": "jane@example.org"}}],
        recipients=[{"deliveryIdentifier": {"type": "CHANNEL_SPECIFIC_OPAQUE_ID", "value": "acme-web"}}],
        integration_idempotency_id="msg-1",
    )


# --- 5xx ---------------------------------------------------------------------------------------


def test_5xx_is_retried_with_exponential_backoff(client, mocked, sleeps):
    mocked.get(THREAD_URL, status=503, json=load_fixture("error__server"))
    mocked.get(THREAD_URL, status=502, body="<html>Bad gateway</html>")
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    thread = client.get_thread(9001)

    assert thread["id"] == "9001"
    assert len(mocked.calls) == 3
    assert sleeps.calls == [0.5, 1.0]


def test_5xx_gives_up_after_max_retries(client, mocked, sleeps):
    for _ in range(5):
        mocked.get(THREAD_URL, status=500, json=load_fixture("error__server"))

    with pytest.raises(HubSpotServerError) as caught:
        client.get_thread(9001)

    assert len(mocked.calls) == 4  # first try + HUBSPOT_MAX_RETRIES (3)
    assert sleeps.calls == [0.5, 1.0, 2.0]
    assert caught.value.status == 500
    assert caught.value.correlation_id == "b6f7a8c9-d0e1-4f2a-8b3c-5d6e7f809102"
    assert caught.value.retryable


def test_backoff_uses_full_jitter_under_an_exponential_cap(connection, mocked, sleeps):
    caps = []
    rng = random.Random(7)

    def jitter(cap):
        caps.append(cap)
        return rng.uniform(0, cap)

    from connections.hubspot import HubSpotClient

    client = HubSpotClient.for_connection(
        connection, transport=Transport(sleep=sleeps, jitter=jitter, max_retries=5, max_total_sleep=100)
    )
    for _ in range(6):
        mocked.get(THREAD_URL, status=503)
    with pytest.raises(HubSpotServerError):
        client.get_thread(9001)

    assert caps == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert all(0 <= slept <= cap for slept, cap in zip(sleeps.calls, caps, strict=True))
    assert len(set(sleeps.calls)) == 5  # jittered, not the same fixed delays


def test_backoff_is_capped(settings, connection, mocked, sleeps):
    from connections.hubspot import HubSpotClient

    transport = Transport(
        sleep=sleeps, jitter=lambda cap: cap, max_retries=6, max_total_sleep=100, backoff_cap=3
    )
    client = HubSpotClient.for_connection(connection, transport=transport)
    for _ in range(7):
        mocked.get(THREAD_URL, status=503)
    with pytest.raises(HubSpotServerError):
        client.get_thread(9001)
    assert sleeps.calls == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_total_sleep_is_bounded(connection, mocked, sleeps):
    from connections.hubspot import HubSpotClient

    transport = Transport(sleep=sleeps, jitter=lambda cap: cap, max_retries=10, max_total_sleep=2.0)
    client = HubSpotClient.for_connection(connection, transport=transport)
    for _ in range(10):
        mocked.get(THREAD_URL, status=503)

    with pytest.raises(HubSpotServerError):
        client.get_thread(9001)

    assert sleeps.calls == [0.5, 1.0]  # the next 2.0 would pass the 2 s budget
    assert len(mocked.calls) == 3


def test_503_retry_after_is_honoured(client, mocked, sleeps):
    mocked.get(THREAD_URL, status=503, json=load_fixture("error__server"), headers={"Retry-After": "3"})
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    client.get_thread(9001)

    assert sleeps.calls == [3.0]


def test_creating_post_is_not_replayed_after_5xx(dev_client, mocked, sleeps):
    mocked.post(CHANNELS_URL, status=503, json=load_fixture("error__server"))
    mocked.post(CHANNELS_URL, status=201, json=load_fixture("channels_create__ok"))

    with pytest.raises(HubSpotServerError):
        dev_client.create_channel("Acme chatbot", {"threadingModel": "INTEGRATION_THREAD_ID"})

    assert len(mocked.calls) == 1
    assert sleeps.calls == []


def test_publish_is_replayed_after_5xx_because_it_is_idempotent(client, mocked, sleeps):
    mocked.post(PUBLISH_URL, status=504)
    mocked.post(PUBLISH_URL, status=201, json=load_fixture("messages_publish__incoming"))

    message = _publish(client)

    assert message["conversationsThreadId"] == "9001"
    assert len(mocked.calls) == 2
    # Both tries carry the same idempotency id, which is what makes the replay safe.
    bodies = [c.request.body for c in mocked.calls]
    assert bodies[0] == bodies[1] and b'"integrationIdempotencyId": "msg-1"' in bodies[0]


# --- 429 ---------------------------------------------------------------------------------------


def test_429_honours_retry_after(client, mocked, sleeps):
    mocked.get(THREAD_URL, status=429, json=load_fixture("error__rate_limit"), headers={"Retry-After": "7"})
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    client.get_thread(9001)

    assert sleeps.calls == [7.0]
    assert len(mocked.calls) == 2


def test_429_uses_hubspot_rate_limit_headers_without_retry_after(client, mocked, sleeps):
    headers = {
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "0",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    }
    mocked.get(THREAD_URL, status=429, json=load_fixture("error__rate_limit"), headers=headers)
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    client.get_thread(9001)

    assert sleeps.calls == [10.0]


def test_429_without_hints_backs_off_at_least_a_second(client, mocked, sleeps):
    mocked.get(THREAD_URL, status=429, json=load_fixture("error__rate_limit"))
    mocked.get(THREAD_URL, status=429, json=load_fixture("error__rate_limit"))
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    client.get_thread(9001)

    assert sleeps.calls == [1.0, 1.0]


def test_429_is_retried_even_for_a_creating_post(dev_client, mocked, sleeps):
    mocked.post(
        CHANNELS_URL, status=429, json=load_fixture("error__rate_limit"), headers={"Retry-After": "1"}
    )
    mocked.post(CHANNELS_URL, status=201, json=load_fixture("channels_create__ok"))

    channel = dev_client.create_channel("Acme chatbot", {"threadingModel": "INTEGRATION_THREAD_ID"})

    assert channel["id"] == "1001"
    assert len(mocked.calls) == 2
    assert sleeps.calls == [1.0]


def test_429_beyond_the_sleep_budget_is_raised_with_retry_after(client, mocked, sleeps):
    mocked.get(THREAD_URL, status=429, json=load_fixture("error__rate_limit"), headers={"Retry-After": "120"})

    with pytest.raises(HubSpotRateLimited) as caught:
        client.get_thread(9001)

    assert caught.value.retry_after == 120.0
    assert caught.value.status == 429
    assert caught.value.category == "RATE_LIMIT"
    assert sleeps.calls == []
    assert len(mocked.calls) == 1


def test_daily_limit_is_not_waited_for(client, mocked, sleeps):
    mocked.get(
        THREAD_URL,
        status=429,
        json=load_fixture("error__rate_limit_daily"),
        headers={"X-HubSpot-RateLimit-Daily-Remaining": "0"},
    )

    with pytest.raises(HubSpotRateLimited):
        client.get_thread(9001)

    assert sleeps.calls == []


# --- other 4xx ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fixture", "error_class"),
    [
        (400, "error__validation_capabilities", HubSpotValidationError),
        (403, "error__missing_scopes", HubSpotMissingScopes),
        (404, "error__not_found", HubSpotNotFound),
        (409, "error__conflict_duplicate_channel", HubSpotValidationError),
        (422, "error__validation_capabilities", HubSpotValidationError),
        (405, "error__not_found", HubSpotError),
    ],
)
def test_4xx_is_never_retried(client, mocked, sleeps, status, fixture, error_class):
    mocked.get(THREAD_URL, status=status, json=load_fixture(fixture))
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    with pytest.raises(error_class) as caught:
        client.get_thread(9001)

    assert type(caught.value) is error_class
    assert caught.value.status == status
    assert not caught.value.retryable
    assert len(mocked.calls) == 1
    assert sleeps.calls == []


# --- 401 and the forced refresh ----------------------------------------------------------------


def test_401_refreshes_the_token_once_and_retries(client, connection, mocked, sleeps):
    mocked.get(THREAD_URL, status=401, json=load_fixture("error__expired_authentication"))
    mocked.post(TOKEN_URL, json=load_fixture("oauth_token__refresh_rotated"))
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    thread = client.get_thread(9001)

    assert thread["status"] == "OPEN"
    gets = [c for c in mocked.calls if c.request.method == "GET"]
    posts = [c for c in mocked.calls if c.request.method == "POST"]
    assert len(posts) == 1
    assert gets[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert gets[1].request.headers["Authorization"] == "Bearer CJDx-access-new-3333"
    connection.refresh_from_db()
    assert connection.access_token == "CJDx-access-new-3333"
    assert sleeps.calls == []


def test_second_401_is_raised_after_exactly_one_refresh(client, mocked):
    mocked.get(THREAD_URL, status=401, json=load_fixture("error__expired_authentication"))
    mocked.post(TOKEN_URL, json=load_fixture("oauth_token__refresh_rotated"))
    mocked.get(THREAD_URL, status=401, json=load_fixture("error__expired_authentication"))
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    with pytest.raises(HubSpotAuthError) as caught:
        client.get_thread(9001)

    assert caught.value.status == 401
    assert caught.value.category == "EXPIRED_AUTHENTICATION"
    assert [c.request.method for c in mocked.calls] == ["GET", "POST", "GET"]


def test_401_with_the_developer_key_is_not_retried(dev_client, mocked):
    mocked.get(CHANNELS_URL, status=401, json=load_fixture("error__invalid_developer_key"))

    with pytest.raises(HubSpotAuthError) as caught:
        dev_client.list_channels()

    assert len(mocked.calls) == 1
    assert DEV_KEY not in str(caught.value)


# --- network errors ----------------------------------------------------------------------------


def test_network_errors_are_retried_then_raised_as_network_error(dev_client, mocked, sleeps):
    for _ in range(4):
        mocked.get(
            CHANNELS_URL,
            body=requests.ConnectionError(
                f"HTTPSConnectionPool(host='api.hubapi.com', port=443): Max retries exceeded with url: "
                f"/conversations/custom-channels/2026-03?appId=4242001&hapikey={DEV_KEY}"
            ),
        )

    with pytest.raises(HubSpotNetworkError) as caught:
        dev_client.list_channels()

    assert len(mocked.calls) == 4
    assert sleeps.calls == [0.5, 1.0, 2.0]
    error = caught.value
    assert isinstance(error, requests.ConnectionError)  # Celery autoretry_for=(RequestException,)
    assert error.retryable
    assert DEV_KEY not in str(error) and DEV_KEY not in repr(error)
    assert error.__cause__ is None and error.__suppress_context__
    assert "after 4 attempts" in str(error)


def test_read_timeout_on_a_creating_post_is_not_replayed(dev_client, mocked, sleeps):
    mocked.post(CHANNELS_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(HubSpotNetworkError, match="read timeout"):
        dev_client.create_channel("Acme chatbot", {})

    assert len(mocked.calls) == 1


def test_connect_timeout_on_a_creating_post_is_replayed(dev_client, mocked, sleeps):
    # The request never left, so sending it again cannot create a second channel.
    mocked.post(CHANNELS_URL, body=requests.ConnectTimeout("connect timed out"))
    mocked.post(CHANNELS_URL, status=201, json=load_fixture("channels_create__ok"))

    dev_client.create_channel("Acme chatbot", {})

    assert len(mocked.calls) == 2
    assert sleeps.calls == [0.5]


def test_refused_connection_is_retried_for_any_request(connection, sleeps, settings):
    # A real refused connection (nothing listens on port 9 of localhost).
    from connections.hubspot import HubSpotClient

    settings.HUBSPOT_API_BASE = "http://127.0.0.1:9"
    transport = Transport(sleep=sleeps, jitter=lambda cap: cap, max_retries=2)
    client = HubSpotClient.for_connection(connection, transport=transport)

    with pytest.raises(HubSpotNetworkError, match="could not connect"):
        client.upload_file(b"x", "a.txt")

    assert sleeps.calls == [0.5, 1.0]


# --- error details -----------------------------------------------------------------------------


def test_validation_error_carries_hubspots_details(dev_client, mocked):
    mocked.post(CHANNELS_URL, status=400, json=load_fixture("error__validation_capabilities"))

    with pytest.raises(HubSpotValidationError) as caught:
        dev_client.create_channel("Acme chatbot", {"deliveryIdentifierTypes": [{"type": "HS_EMAIL_ADDRESS"}]})

    error = caught.value
    assert error.status == 400
    assert error.category == "VALIDATION_ERROR"
    assert error.sub_category == "CustomChannelsError.INVALID_CHANNEL_CAPABILITY_VALUES"
    assert error.correlation_id == "0e2b1c3c-6874-4878-9821-826922c48a4f"
    assert error.errors == [
        {
            "message": "deliveryIdentifierTypes must be a list of strings",
            "code": "INVALID_VALUE",
            "in": "capabilities.deliveryIdentifierTypes",
        }
    ]
    assert error.operation == "channels.create"
    text = str(error)
    assert "One or more Channel Capabilities" in text
    assert "correlationId 0e2b1c3c-6874-4878-9821-826922c48a4f" in text
    assert "HTTP 400" in text


def test_correlation_id_falls_back_to_the_header(client, mocked):
    mocked.get(THREAD_URL, status=404, body="", headers={"X-HubSpot-Correlation-Id": "hdr-corr-1"})

    with pytest.raises(HubSpotNotFound) as caught:
        client.get_thread(9001)

    assert caught.value.correlation_id == "hdr-corr-1"
    assert caught.value.message == "Not Found"


def test_non_json_error_body_is_cut_short(connection, mocked, sleeps):
    from connections.hubspot import HubSpotClient

    client = HubSpotClient.for_connection(connection, transport=Transport(sleep=sleeps, max_retries=0))
    mocked.get(THREAD_URL, status=502, body="<html>" + "x" * 5000 + "</html>")

    with pytest.raises(HubSpotServerError) as caught:
        client.get_thread(9001)

    assert len(caught.value.message) < 220


def test_2xx_with_a_broken_body_is_an_error(client, mocked):
    mocked.get(THREAD_URL, body="{not json", content_type="application/json")

    with pytest.raises(HubSpotServerError, match="not JSON"):
        client.get_thread(9001)


# --- transport basics --------------------------------------------------------------------------


def test_requests_carry_user_agent_timeouts_and_bearer(client, mocked, settings):
    settings.HUBSPOT_CONNECT_TIMEOUT = 3.5
    settings.HUBSPOT_READ_TIMEOUT = 11.0
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    client.get_thread(9001)

    request = mocked.calls[0].request
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("hitl-portal-hubspot/")
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.req_kwargs["timeout"] == (3.5, 11.0)


def test_base_url_is_read_at_call_time(client, mocked, settings):
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))
    mocked.get("https://eu1.example.test/hs/conversations/v3/conversations/threads/9001", json={"id": "9001"})

    client.get_thread(9001)
    settings.HUBSPOT_API_BASE = "https://eu1.example.test/hs/"
    client.get_thread(9001)

    assert [c.request.url for c in mocked.calls] == [
        THREAD_URL,
        "https://eu1.example.test/hs/conversations/v3/conversations/threads/9001",
    ]


def test_developer_calls_send_hapikey_and_app_id_but_no_bearer(dev_client, mocked):
    mocked.get(
        CHANNELS_URL,
        json=load_fixture("channels_list__page2"),
        match=[matchers.query_param_matcher({"hapikey": DEV_KEY, "appId": "4242001", "limit": "50"})],
    )

    dev_client.list_channels(limit=50)

    assert "Authorization" not in mocked.calls[0].request.headers


def test_one_session_per_process_that_keeps_no_cookies(client, mocked):
    from connections.hubspot.transport import get_session

    assert get_session() is get_session()
    mocked.get(
        THREAD_URL, json=load_fixture("threads_get__open"), headers={"Set-Cookie": "__cf_bm=portal-a; Path=/"}
    )
    mocked.get(THREAD_URL, json=load_fixture("threads_get__open"))

    client.get_thread(9001)
    client.get_thread(9001)

    # One portal's cookies (Cloudflare's, say) are not replayed to the next portal's request.
    assert "Cookie" not in mocked.calls[1].request.headers
    assert len(get_session().cookies) == 0


def test_token_refresh_failure_marks_connection_error(client, connection, mocked):
    connection.access_token_expires_at = None
    connection.save()
    mocked.post(TOKEN_URL, status=400, json=load_fixture("oauth_token__bad_refresh_token"))

    with pytest.raises(HubSpotAuthError):
        client.get_thread(9001)

    connection.refresh_from_db()
    assert connection.status == "error"
    assert "Connect the portal again" in connection.last_error
    assert Connection.objects.get(pk=connection.pk).refresh_token == "na1-6f1b-rt-original-0000"
