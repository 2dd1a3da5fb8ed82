"""HubSpot's calculated phone properties, as the sandbox computes them."""

from __future__ import annotations

import re

import phonenumbers


def searchable_phone(value: str) -> str:
    """The searchable form of a phone property: the digits of the national number, without
    country code, trunk prefix or formatting ("+44 7700 900001", "07700 900001" and
    "+447700900001" all give "7700900001"; "(415) 555-0123" gives "4155550123").

    HubSpot fills `hs_searchable_calculated_phone_number` / `..._mobile_number` this way so a
    search finds a contact whatever format a person typed; `phone` itself only matches exactly.
    """
    text = (value or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        try:
            return str(phonenumbers.parse(text, None).national_number)
        except phonenumbers.NumberParseException:
            pass
    return re.sub(r"\D", "", text).lstrip("0")
