"""Input PostgreSQL cannot store or Python cannot represent, refused as a clear 400 up front.

PostgreSQL's text and JSON types refuse NUL (U+0000), and UTF-8 has no encoding for an unpaired
surrogate (U+D800-U+DFFF, which JSON's \\ud800 escape produces): either reaching a query is a
database error, a 500. Deeply nested JSON exhausts Python's recursion limit the same way. Bad
input must be a 4xx that says what is wrong (docs/security.md), so these are refused before any
view works with them.
"""

from __future__ import annotations

import datetime as dt
import json

from django.http import HttpResponse, JsonResponse

MAX_JSON_DEPTH = 32

# The dates the admin's filters, dashboard and live feed accept: wide enough for any real
# escalation, narrow enough that a day's arithmetic or a time zone never leaves Python's range.
MIN_DATE = dt.date(1970, 1, 1)
MAX_DATE = dt.date(2999, 12, 31)
DATE_RANGE_MESSAGE = f"dates must be between {MIN_DATE} and {MAX_DATE}"


def date_in_range(day: dt.date) -> bool:
    return MIN_DATE <= day <= MAX_DATE


class BadQueryParameter(Exception):
    """A query parameter of an admin page that cannot be used as given (a date that is not one, or
    outside MIN_DATE..MAX_DATE). Raised wherever the page reads it; core.error_pages turns it into
    a 400 page that names the parameter and offers the list without it."""

    def __init__(self, parameter: str, value: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.value = value
        self.reason = reason


def query_date(parameter: str, raw: str) -> dt.date:
    """A YYYY-MM-DD query value as a date in range, or BadQueryParameter saying what is wrong."""
    text = raw.strip()
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise BadQueryParameter(parameter, raw, "is not a date: use the form YYYY-MM-DD, e.g. 2026-03-31")
    if not date_in_range(day):
        raise BadQueryParameter(parameter, raw, f"is out of range: {DATE_RANGE_MESSAGE}")
    return day


def query_datetime(parameter: str, raw: str) -> dt.datetime:
    """A date or ISO date-time query value (Django's date list filters send both), in range."""
    from django.utils.dateparse import parse_datetime

    text = raw.strip()
    if len(text) == 10:
        day = query_date(parameter, text)
        return dt.datetime.combine(day, dt.time.min)
    try:
        value = parse_datetime(text)
    except ValueError:
        value = None
    if value is None:
        raise BadQueryParameter(parameter, raw, "is not a date: use the form YYYY-MM-DD, e.g. 2026-03-31")
    if not date_in_range(value.date()):
        raise BadQueryParameter(parameter, raw, f"is out of range: {DATE_RANGE_MESSAGE}")
    return value


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character (U+0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def json_problem(value) -> str | None:
    """Why a parsed JSON value cannot be accepted (too deep, NUL, unpaired surrogate), or None.
    Iterative: a recursive walk would itself run out of stack on the input it checks."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"is nested more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return f"has a string that {problem}"
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key)
                if problem:
                    return f"has a key that {problem}"
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def loads(body: bytes | str):
    """json.loads that turns running out of stack into a ValueError like any other bad JSON."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError(f"is nested more than {MAX_JSON_DEPTH} levels deep") from None


class RejectNulQueryMiddleware:
    """A query string with NUL or an unencodable character is a 400 for every page and endpoint:
    no filter, search or cursor has a use for one, and each would otherwise reach a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for key, values in request.GET.lists():
            for text in (key, *values):
                problem = text_problem(text)
                if problem:
                    message = f"The query parameter {key!r} {problem}; remove it."
                    if request.path.startswith("/api/"):
                        return JsonResponse({"error": "invalid_request", "message": message}, status=400)
                    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
