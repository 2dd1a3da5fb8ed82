"""validate_callback_url: the SSRF guard shared by callbacks and attachment fetches."""

import socket

import pytest

from conversations.callback_urls import CallbackURLError, validate_callback_url


@pytest.fixture
def strict(settings):
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = False


@pytest.fixture
def resolves_to(monkeypatch):
    """Make every host resolve to the given address (no real DNS in tests)."""

    def use(address: str):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        monkeypatch.setattr(
            socket, "getaddrinfo", lambda *a, **k: [(family, socket.SOCK_STREAM, 6, "", (address, 443))]
        )

    return use


def test_public_https_is_accepted(strict, resolves_to):
    resolves_to("93.184.216.34")
    assert validate_callback_url("https://bot.example.com/hook") == "https://bot.example.com/hook"


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.5", "192.168.1.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "0.0.0.0"],
)
def test_private_loopback_link_local_are_refused(strict, resolves_to, address):
    resolves_to(address)
    with pytest.raises(CallbackURLError) as caught:
        validate_callback_url("https://bot.example.com/hook")
    # The reason, never the address the name resolved to (tests/security/test_ssrf.py).
    assert "public internet address" in str(caught.value) and address not in str(caught.value)
    assert "HITL_ALLOW_PRIVATE_CALLBACKS" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://bot.example.com/hook", "must be an https:// URL"),
        ("ftp://bot.example.com/", "must be an https:// URL"),
        ("https:///nohost", "has no host"),
        ("https://user:pw@bot.example.com/", "credentials in the URL"),
        ("", "give an absolute https:// URL"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(strict, url, fragment):
    with pytest.raises(CallbackURLError, match=fragment):
        validate_callback_url(url)


def test_unresolvable_host_is_refused(strict, monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(CallbackURLError, match="does not resolve to a public internet address"):
        validate_callback_url("https://nowhere.invalid/")


def test_private_and_http_allowed_with_the_flag(settings):
    settings.HITL_ALLOW_PRIVATE_CALLBACKS = True
    assert validate_callback_url("http://127.0.0.1:9000/cb") == "http://127.0.0.1:9000/cb"


def test_error_is_a_value_error():
    assert issubclass(CallbackURLError, ValueError)
