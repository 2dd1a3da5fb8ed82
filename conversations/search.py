"""What a person types in the escalation search box, turned into exact, indexable matches.

Phones are stored in E.164 (`+447700900123`), but people paste "+44 7700 900123", "0044 7700…"
or "447700900123". Every form with the country code finds the stored number; a bare national
number ("07700 900123") cannot, as the country is unknown (conversations/phones.py refuses to guess).
"""

from __future__ import annotations

import contextlib
import re
import uuid

from django.db.models import Q

from conversations.phones import PhoneNumberError, to_e164

PHONE_LIKE = re.compile(r"^\+?[\d\s().\-]+$")
MIN_PHONE_DIGITS = 6
NAME_LIKE = re.compile(r"[^\W\d_]", re.UNICODE)  # has a letter
MIN_NAME_CHARS = 2


def phone_candidates(term: str) -> set[str]:
    """E.164 values the term may mean; empty when it does not look like a phone number."""
    text = term.strip()
    if not PHONE_LIKE.match(text):
        return set()
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_PHONE_DIGITS:
        return set()
    if digits.startswith("00"):
        digits = digits[2:]
    found = {f"+{digits}"}
    for form in (text, f"+{digits}"):
        with contextlib.suppress(PhoneNumberError):
            found.add(to_e164(form))
    return found


def escalation_search(term: str) -> Q | None:
    """One Q matching phone, email, conversation id, HubSpot thread id or escalation id exactly,
    or a part of the contact's name.

    Each identifier is matched both as the bot sent it (user_*) and as HubSpot knows the contact
    (contact_*, stored from the contact search): a bot that sent only a phone number still finds
    its escalation by the contact's email or name.
    """
    text = term.strip()
    if not text:
        return None
    q = Q(conversation_id=text) | Q(hubspot_thread_id=text)
    if "@" in text:
        q |= Q(user_email__iexact=text) | Q(contact_email__iexact=text)
    phones = phone_candidates(text)
    if phones:
        q |= Q(user_phone__in=sorted(phones)) | Q(contact_phone__in=sorted(phones))
    elif NAME_LIKE.search(text) and "@" not in text and len(text) >= MIN_NAME_CHARS:
        # Names are not indexed for a substring match: it runs over the user's own rows (a
        # tenant's connections, newest first), which is what the list pages through anyway.
        q |= Q(user_name__icontains=text) | Q(contact_name__icontains=text)
    with contextlib.suppress(ValueError):
        q |= Q(pk=uuid.UUID(text))
    return q
