"""CRM contacts: search by email or phone, and get by id (contract §7).

The search body is `PublicObjectSearchRequest`. hubspot-sdk 0.1.0a9 treats `after`, `filterGroups`,
`limit`, `properties` and `sorts` as required, so all five are always sent (`after: "0"` for the
first page). Filter groups are ORed, filters inside a group ANDed; a phone number is therefore
matched against `phone` OR `mobilephone` as given (E.164) and against HubSpot's calculated
searchable copies of both (national digits, whatever format was typed): four groups.

HubSpot matches property values exactly; callers normalise first (E.164 phones, see
`phonenumbers` in the bot API). Search has its own lower rate limit (ratelimit.search_limiter).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import phonenumbers

from connections.hubspot.paging import Page

DEFAULT_CONTACT_PROPERTIES = ("email", "firstname", "lastname", "phone", "mobilephone")
PHONE_PROPERTIES = ("phone", "mobilephone")
# HubSpot's calculated copies of phone and mobilephone: the national number's digits whatever
# format was typed, so "+44 7700 900001", "07700 900001" and "+447700900001" all match.
SEARCHABLE_PHONE_PROPERTIES = (
    "hs_searchable_calculated_phone_number",
    "hs_searchable_calculated_mobile_number",
)


def national_digits(e164: str) -> str:
    """ "+447700900001" → "7700900001": the value HubSpot's searchable phone properties hold."""
    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return ""


def eq_filter(property_name: str, value: str) -> dict[str, str]:
    return {"propertyName": property_name, "operator": "EQ", "value": value}


class ContactsAPI:
    def search_contacts(
        self,
        filter_groups: Sequence[dict[str, Any]],
        *,
        properties: Iterable[str] = DEFAULT_CONTACT_PROPERTIES,
        limit: int = 10,
        after: str | None = None,
        sorts: Sequence[str] = (),
        query: str | None = None,
    ) -> Page:
        body: dict[str, Any] = {
            "filterGroups": list(filter_groups),
            "properties": list(properties),
            "sorts": list(sorts),
            "limit": limit,
            "after": after or "0",
        }
        if query:
            body["query"] = query
        result = self._call("contacts.search", json=body, limiters=self._search_limiters())
        return Page.from_body(result, "contacts.search")

    def find_contacts_by_email(
        self, email: str, *, properties: Iterable[str] = DEFAULT_CONTACT_PROPERTIES, limit: int = 10
    ) -> list[dict[str, Any]]:
        email = email.strip()
        if not email:
            return []
        groups = [{"filters": [eq_filter("email", email)]}]
        return self.search_contacts(groups, properties=properties, limit=limit).results

    def find_contacts_by_phone(
        self, phone: str, *, properties: Iterable[str] = DEFAULT_CONTACT_PROPERTIES, limit: int = 10
    ) -> list[dict[str, Any]]:
        phone = phone.strip()
        if not phone:
            return []
        groups = [{"filters": [eq_filter(name, phone)]} for name in PHONE_PROPERTIES]
        national = national_digits(phone)
        if national:
            groups += [{"filters": [eq_filter(name, national)]} for name in SEARCHABLE_PHONE_PROPERTIES]
        return self.search_contacts(groups, properties=properties, limit=limit).results

    def create_contact(self, properties: dict[str, str]) -> dict[str, Any]:
        """`SimplePublicObjectInputForCreate`: `properties` and `associations` (required, empty)."""
        body = {"properties": {k: v for k, v in properties.items() if v}, "associations": []}
        return self._call("contacts.create", json=body)

    def get_contact(
        self, contact_id: int | str, *, properties: Iterable[str] = DEFAULT_CONTACT_PROPERTIES
    ) -> dict[str, Any]:
        return self._call(
            "contacts.get", path_params={"contactId": contact_id}, params={"properties": list(properties)}
        )
