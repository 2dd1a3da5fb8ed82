"""Secrets never reach log output, whatever shape they arrive in."""

import io
import json
import logging

import pytest

from core.logging import JsonFormatter, RedactSecretsFilter
from core.secrets import SecretStr


@pytest.fixture
def log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("message", "args", "secret"),
    [
        (
            "GET %s",
            ("https://api.hubapi.com/conversations/v3/custom-channels?hapikey=dev-KEY-123&appId=9",),
            "dev-KEY-123",
        ),
        (
            "token response %s",
            ('{"access_token": "CJSP-access", "refresh_token": "rt-999", "expires_in": 1800}',),
            "rt-999",
        ),
        ("token response %s", ({"access_token": "CJSP-access-2"},), "CJSP-access-2"),
        ("headers %s", ("Authorization: Bearer pat-na1-abcdef",), "pat-na1-abcdef"),
        ("form body client_secret=%s&grant_type=refresh_token", ("cs-42",), "cs-42"),
        ("secret arg %s", (SecretStr("opaque-value-without-keyword"),), "opaque-value-without-keyword"),
        ("refresh_token=rt-inline&client_id=x", (), "rt-inline"),
        ("kw %(key)s", ({"key": SecretStr("dict-arg-secret")},), "dict-arg-secret"),
    ],
)
def test_secret_redacted(log, message, args, secret):
    logger, stream = log
    logger.info(message, *args)
    output = stream.getvalue()
    assert secret not in output
    assert "[REDACTED]" in output


def test_non_secrets_survive(log):
    logger, stream = log
    logger.info("published message %s to thread %s (expires_in=%s)", "m-1", 42, 1800)
    assert stream.getvalue().strip() == "published message m-1 to thread 42 (expires_in=1800)"


def test_exception_text_redacted(log):
    logger, stream = log
    try:
        raise ValueError("bad url https://x/?hapikey=leaky-key")
    except ValueError:
        logger.exception("call failed")
    assert "leaky-key" not in stream.getvalue()
    assert "call failed" in stream.getvalue()


def test_json_formatter_outputs_redacted_structured_line():
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "levelno": 20, "msg": "refresh_token=abc", "portal_id": 7}
    )
    RedactSecretsFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "refresh_token=[REDACTED]"
    assert line["portal_id"] == 7
    assert line["level"] == "INFO"


def _redact_with_every_pattern(text: str) -> str:
    from core.logging import _PATTERNS, _keep_name

    for pattern in _PATTERNS:
        text = pattern.sub(_keep_name, text)
    return text


@pytest.mark.parametrize(
    "text",
    [
        '127.0.0.1 "POST /webhooks/hubspot/x/app/ HTTP/1.1" 200 40 7ms "-" 5388df25e7d1',
        "/oauth/callback?code=abc123&state=s-9",
        "?CODE=abc&STATE=def",
        "Authorization: BEARER pat-na1-xyz",
        "sent with Bearer pat-na1-only",
        "X-HubSpot-Signature-v3: c2lnbmF0dXJl",
        "x-hubspot-signature='abc+/='",
        '{"Refresh-Token": "rt-1", "clientSecret": "no-match-camel"}',
        "api_key=k1 apikey=k2 api-key=k3 developer_api_key=k4",
        # Unicode case folding: the Kelvin sign folds to k, the long s to s (re.IGNORECASE on str)
        "to\u212aen=kelvin-secret and \u017fecret=long-s-secret",
        "password: 'p' and passcode=nothing",
        "",
        "plain text with no secret words at all, 42 and 3.14",
    ],
)
def test_the_quick_check_changes_nothing_redaction_would_not(text):
    from core.logging import redact

    assert redact(text) == _redact_with_every_pattern(text)
