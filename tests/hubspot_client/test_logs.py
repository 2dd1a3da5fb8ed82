"""One log line per attempt with what an operator needs, and never a secret: not the developer
API key, not tokens (not even in v1 paths), not the client secret, not OAuth bodies."""

import logging

import pytest
import requests

from connections.hubspot import HubSpotAuthError, HubSpotNetworkError, OAuthClient
from tests.hubspot_client.conftest import API, load_fixture
from tests.hubspot_client.factories import ACCESS_TOKEN, CLIENT_SECRET, DEV_KEY, REFRESH_TOKEN

SECRETS = [
    DEV_KEY,
    CLIENT_SECRET,
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    "CJDx-access-new-3333",
    "na1-9c2d-rt-rotated-2222",
]


def _everything_logged(caplog) -> str:
    """Message and every attribute of every record, as a handler without our filter would see."""
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.extend(str(v) for v in vars(record).values())
    return "\n".join(parts)


def _assert_no_secrets(text: str):
    for secret in SECRETS:
        assert secret not in text, f"secret {secret[:8]}… leaked"


def test_one_line_per_attempt_with_method_path_status_duration_and_correlation(
    dev_client, mocked, hubspot_logs, sleeps
):
    url = f"{API}/conversations/custom-channels/2026-03"
    mocked.get(url, status=503, json=load_fixture("error__server"))
    mocked.get(
        url, json=load_fixture("channels_list__page2"), headers={"X-HubSpot-Correlation-Id": "corr-ok"}
    )

    dev_client.list_channels(limit=10)

    records = [r for r in hubspot_logs.records if r.name == "hubspot"]
    assert len(records) == 2
    failed, ok = records
    assert failed.levelno == logging.WARNING and ok.levelno == logging.DEBUG
    assert failed.getMessage().startswith(
        "HubSpot GET /conversations/custom-channels/2026-03?appId=4242001&limit=10"
    )
    assert "-> 503" in failed.getMessage() and "attempt 1" in failed.getMessage()
    assert "correlationId b6f7a8c9-d0e1-4f2a-8b3c-5d6e7f809102" in failed.getMessage()
    assert ok.hubspot_status == 200 and ok.attempt == 2 and ok.correlation_id == "corr-ok"
    assert ok.hubspot_method == "GET" and ok.hubspot_operation == "channels.list"
    assert isinstance(ok.duration_ms, float)
    _assert_no_secrets(_everything_logged(hubspot_logs))
    assert "hapikey" not in _everything_logged(hubspot_logs)


def test_network_errors_never_show_the_hapikey(dev_client, mocked, hubspot_logs):
    url = f"{API}/conversations/custom-channels/2026-03"
    leak = f"Max retries exceeded with url: /conversations/custom-channels/2026-03?hapikey={DEV_KEY}"
    for _ in range(4):
        mocked.get(url, body=requests.ConnectionError(leak))

    with pytest.raises(HubSpotNetworkError) as caught:
        dev_client.list_channels()

    _assert_no_secrets(_everything_logged(hubspot_logs) + str(caught.value) + repr(caught.value))


def test_oauth_bodies_and_credentials_stay_out_of_logs_and_errors(app, mocked, hubspot_logs, transport):
    mocked.post(f"{API}/oauth/2026-03/token", json=load_fixture("oauth_token__refresh_rotated"))
    mocked.post(f"{API}/oauth/2026-03/token", status=400, json=load_fixture("oauth_token__bad_refresh_token"))
    oauth = OAuthClient.for_app(app, transport=transport)

    granted = oauth.refresh(REFRESH_TOKEN)
    with pytest.raises(HubSpotAuthError) as caught:
        oauth.refresh(REFRESH_TOKEN)

    assert str(granted.access_token) == "CJDx-access-new-3333"
    assert "CJDx-access-new-3333" not in repr(granted)  # SecretStr fields mask themselves
    error_text = str(caught.value) + repr(caught.value) + repr(vars(caught.value))
    _assert_no_secrets(_everything_logged(hubspot_logs) + error_text)
    assert caught.value.sub_category == "BAD_REFRESH_TOKEN"
    assert caught.value.correlation_id == "8f0b5a43-8a4c-4a35-9b0c-6f0d2b7f1c11"
    assert "requestId" not in error_text  # only chosen fields are kept, never the body


def test_v1_token_in_the_path_is_masked(app, mocked, hubspot_logs, transport, settings):
    settings.HUBSPOT_API_VERSION = "v3"
    mocked.get(f"{API}/oauth/v1/access-tokens/{ACCESS_TOKEN}", json=load_fixture("oauth_token_info__v1"))
    mocked.delete(f"{API}/oauth/v1/refresh-tokens/{REFRESH_TOKEN}", status=500)
    oauth = OAuthClient.for_app(app, transport=transport)

    info = oauth.token_info(ACCESS_TOKEN)
    with pytest.raises(Exception) as caught:
        oauth.revoke_refresh_token(REFRESH_TOKEN)

    assert info.hub_id == 243842089
    logged = _everything_logged(hubspot_logs)
    assert "/oauth/v1/access-tokens/[REDACTED]" in logged
    assert "/oauth/v1/refresh-tokens/[REDACTED]" in logged
    _assert_no_secrets(logged + str(caught.value))


def test_redacting_handler_output_has_no_secrets_either(dev_client, mocked):
    # Through the project's real filter (settings.LOGGING), as production output would be.
    import io

    from core.logging import RedactSecretsFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("hubspot")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        mocked.get(f"{API}/conversations/custom-channels/2026-03", json=load_fixture("channels_list__page2"))
        dev_client.list_channels()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert "HubSpot GET /conversations/custom-channels/2026-03" in stream.getvalue()
    _assert_no_secrets(stream.getvalue())
