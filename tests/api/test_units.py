"""Pure pieces of the bot API: phone normalisation, history timestamps, error bodies."""

import datetime as dt

import pytest
from rest_framework.exceptions import ErrorDetail

from conversations.api.errors import _validation_body
from conversations.escalations import _transcript_times, transcript_text
from conversations.phones import PhoneNumberError, to_e164

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("0044 7700 900123", "+447700900123"),
        ("+1 (555) 010-0002", "+15550100002"),
    ],
)
def test_phone_numbers_become_e164(raw, e164):
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", ["07700 900123", "+44 12", "+abc", ""])
def test_phone_numbers_without_country_code_or_impossible_are_refused(raw):
    with pytest.raises(PhoneNumberError, match=r"\+44 7700 900123"):
        to_e164(raw)


def test_history_times_keep_order_and_never_reach_the_future():
    at = lambda minute: NOW - dt.timedelta(minutes=minute)  # noqa: E731
    transcript = [
        {"role": "user", "text": "a", "at": at(10)},
        {"role": "bot", "text": "b"},  # no time: same as the previous line
        {"role": "user", "text": "c", "at": at(20)},  # earlier than the line before: kept after it
        {"role": "bot", "text": "d", "at": NOW + dt.timedelta(days=1)},  # future: now
    ]

    intro_at, times = _transcript_times(transcript, NOW)

    assert intro_at == at(20)
    assert times == [at(10), at(10), at(10), NOW]
    assert _transcript_times([], NOW) == (NOW, [])


def test_transcript_lines_say_who_wrote_them():
    assert transcript_text("bot", "hi") == "Bot: hi" and transcript_text("user", "yo") == "User: yo"


def test_validation_body_names_nested_fields():
    detail = {
        "user": {"phone": [ErrorDetail("include the country code", "invalid")]},
        "transcript": {1: {"role": [ErrorDetail('"agent" is not a valid choice.', "invalid_choice")]}},
    }
    body = _validation_body(detail)

    assert body["error"] == "invalid_request"
    assert (
        body["message"]
        == 'user.phone: include the country code; transcript[1].role: "agent" is not a valid choice.'
    )
    assert set(body["fields"]) == {"user.phone", "transcript[1].role"}
