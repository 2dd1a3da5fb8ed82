"""Phone numbers as HubSpot matches them: E.164 (`+447700900123`), parsed by `phonenumbers`.

HubSpot compares contact properties character for character, so "07700 900123" and
"+44 7700 900123" are different values; the old integration matched raw strings and silently
missed contacts. We require the country code instead of guessing a region.
"""

from __future__ import annotations

import phonenumbers

EXAMPLE = "+44 7700 900123"


class PhoneNumberError(ValueError):
    """The number cannot be used; the message says what form is expected."""


def to_e164(raw: str) -> str:
    text = (raw or "").strip()
    if not text:
        raise PhoneNumberError(f"give a phone number with its country code, e.g. {EXAMPLE}")
    if not text.startswith("+") and not text.startswith("00"):
        raise PhoneNumberError(f"include the country code, e.g. {EXAMPLE}")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise PhoneNumberError(f"not a phone number; use the international form, e.g. {EXAMPLE}") from None
    # "Possible" (right length for the country), not "valid": reserved drama/test ranges such as
    # +44 7700 900xxx are real CRM values in demos and tests, and HubSpot does not check either.
    if not phonenumbers.is_possible_number(number):
        raise PhoneNumberError(f"not a possible number for its country code; e.g. {EXAMPLE}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_region(e164: str) -> str | None:
    try:
        # By country code, not by number ranges: reserved test ranges still belong to their country.
        number = phonenumbers.parse(e164, None)
        return phonenumbers.region_code_for_country_code(number.country_code)
    except phonenumbers.NumberParseException:
        return None


def same_number(typed: str, e164: str, region: str | None) -> bool:
    """Is `typed` (a CRM value as a person typed it) the number `e164`? A value without a country
    code is read in `region` (the user's country), as "07700 900001" means +44 7700 900001 there."""
    text = (typed or "").strip()
    if not text:
        return False
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == e164
