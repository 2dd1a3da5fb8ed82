"""Query-string parsing and HubSpot's list envelopes (contract §0.5, §3.1).

Array filters arrive comma-joined from hubspot_sdk (`deliveryIdentifierType=A%2CB`) and as repeated
keys from other clients; both are read. Cursors are opaque strings to clients; here they are
offsets, which is all a sandbox needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from sandbox.api.errors import validation_error


def multi(request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.GET.getlist(name):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def flag(request, name: str, default: bool = False) -> bool:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise validation_error(f"{name} must be true or false, got {raw!r}", field=name)
    return lowered == "true"


def integer(request, name: str) -> int | None:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise validation_error(f"{name} must be an integer, got {raw!r}", field=name) from None


def ints(request, name: str) -> list[int]:
    try:
        return [int(v) for v in multi(request, name)]
    except ValueError:
        raise validation_error(f"{name} must be a list of integers", field=name) from None


def parse_timestamp(value, field: str) -> datetime:
    """ISO-8601 with `Z` or an offset (the SDK sends `+00:00`), or epoch milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_timestamp(int(text), field)
        parsed = parse_datetime(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed
    raise validation_error(f"{field} must be an ISO-8601 date-time, got {value!r}", field=field)


def window(after: str | None, limit: int | None, *, default: int, maximum: int) -> tuple[int, int]:
    """(offset, limit) from the `after` cursor and `limit`, validated like HubSpot does."""
    if limit is None:
        limit = default
    if limit < 1 or limit > maximum:
        raise validation_error(f"limit must be between 1 and {maximum}, got {limit}", field="limit")
    offset = 0
    if after not in (None, ""):
        if not str(after).isdigit():
            raise validation_error(f"Invalid paging cursor after={after!r}", field="after")
        offset = int(after)
    return offset, limit


def paged(
    items: Sequence,
    serialize: Callable,
    *,
    after: str | None,
    limit: int | None,
    default: int = 100,
    maximum: int = 500,
    with_total: bool = True,
) -> dict:
    """`{total?, results, paging?}`; `paging.next` only when another page exists."""
    offset, limit = window(after, limit, default=default, maximum=maximum)
    total = len(items) if isinstance(items, list) else items.count()
    page = list(items[offset : offset + limit])
    body: dict = {"results": [serialize(item) for item in page]}
    if with_total:
        body = {"total": total} | body
    if offset + limit < total:
        cursor = str(offset + limit)
        body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
    return body


def list_page(request, items: Sequence, serialize: Callable, **kwargs) -> dict:
    """`paged` with `after`/`limit`/`defaultPageLength` read from the query string."""
    default = integer(request, "defaultPageLength") or kwargs.pop("default", 100)
    return paged(
        items,
        serialize,
        after=request.GET.get("after"),
        limit=integer(request, "limit"),
        default=default,
        **kwargs,
    )
