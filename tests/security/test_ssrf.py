"""Server-side requests to bot-chosen URLs (callbacks, attachment fetches) reach public addresses
only, judged on the address really connected to, and refusals leak nothing."""

from __future__ import annotations

import pytest

from conversations import callbacks
from conversations.api.attachments import load
from conversations.api.errors import ApiError
from conversations.callback_urls import CallbackURLError, validate_callback_url

PUBLIC = "93.184.216.34"  # never reached: the loopback guard refuses it before a packet leaves


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 wrapping 169.254.169.254
        "fec0::1",  # site-local
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "100.64.0.1",  # shared address space (carrier NAT)
        "192.88.99.1",  # 6to4 relay anycast
        "224.0.0.1",
        "ff0e::1",
        "::ffff:169.254.169.254",
    ],
)
def test_every_non_global_address_is_refused(strict, dns, address):
    dns.set("bot.example.com", address)
    with pytest.raises(CallbackURLError):
        validate_callback_url("https://bot.example.com/hook")


def test_a_public_address_is_accepted(strict, dns):
    dns.set("bot.example.com", PUBLIC)
    assert validate_callback_url("https://bot.example.com/hook") == "https://bot.example.com/hook"


def test_refusal_does_not_reveal_what_the_name_resolves_to(strict, dns):
    dns.set("bot.example.com", "10.20.30.40")
    dns.set("gone.example.com", "")  # NXDOMAIN
    with pytest.raises(CallbackURLError) as private:
        validate_callback_url("https://bot.example.com/hook")
    with pytest.raises(CallbackURLError) as missing:
        validate_callback_url("https://gone.example.com/hook")

    assert "10.20.30.40" not in str(private.value)
    assert str(private.value).replace("bot.", "gone.") == str(missing.value)


def test_callback_connects_only_to_the_address_it_checked(event, dns, listener, loopback_only):
    # given: a name that answers a public address to the check and 127.0.0.1 right after (rebinding)
    dns.set("rebind.example.com", PUBLIC, "127.0.0.1")

    outcome, _attempt = callbacks.send_event(
        event(f"https://rebind.example.com:{listener.port}/hook"),
        f"https://rebind.example.com:{listener.port}/hook",
    )

    # then: nothing reached the loopback listener; the one connect went to the checked address
    assert listener.accepted == 0
    assert "127.0.0.1" not in loopback_only
    assert not outcome.ok


def test_callback_to_a_name_resolving_to_loopback_is_never_connected(event, dns, listener):
    dns.set("inside.example.com", "127.0.0.1")
    url = f"https://inside.example.com:{listener.port}/hook"
    outcome, _attempt = callbacks.send_event(event(url), url)
    assert listener.accepted == 0 and not outcome.ok


def test_callback_log_reads_the_same_for_refused_and_unreachable(event, dns, listener):
    # given: one name resolving to loopback (refused by policy), one to an unreachable public host
    dns.set("inside.example.com", "127.0.0.1")
    dns.set("down.example.com", PUBLIC)
    refused_url = f"https://inside.example.com:{listener.port}/hook"
    down_url = f"https://down.example.com:{listener.port}/hook"

    _, refused = callbacks.send_event(event(refused_url), refused_url)
    _, down = callbacks.send_event(event(down_url), down_url)

    assert refused.error == down.error
    assert "127.0.0.1" not in refused.error and PUBLIC not in down.error


def test_attachment_fetch_refused_and_unreachable_read_the_same(strict, dns, listener):
    dns.set("inside.example.com", "127.0.0.1")
    dns.set("down.example.com", PUBLIC)

    answers = []
    for host in ("inside", "down"):
        with pytest.raises(ApiError) as caught:
            load([{"url": f"https://{host}.example.com:{listener.port}/a.png"}])
        error = caught.value
        answers.append((error.status_code, error.error_code, str(error.detail).replace(host, "H")))

    assert answers[0] == answers[1]
    assert listener.accepted == 0
    assert "127.0.0.1" not in answers[0][2]


def test_attachment_fetch_does_not_follow_a_rebinding_name(strict, dns, listener, loopback_only):
    dns.set("rebind.example.com", PUBLIC, "127.0.0.1")
    with pytest.raises(ApiError):
        load([{"url": f"https://rebind.example.com:{listener.port}/a.png"}])
    assert listener.accepted == 0 and "127.0.0.1" not in loopback_only
