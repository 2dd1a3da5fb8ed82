"""The escalation list's live feed: `GET /admin/conversations/escalation/live/?since=<cursor>&<filters>`.

Contract (read by static/conversations/escalations.js):

    {"rows": [{"id": "<uuid>", "version": "<updated_at>", "status": "assigned",
               "matches": true,                      # false: it changed and left the filtered set
               "html": "<td>…</td><td>…</td>…"}],   # the row's cells, as the changelist renders them
     "cursor": "2026-12-01T18:30:00.123456Z",      # pass as ?since= next time
     "more": false,                                # true: poll again at once, more rows changed
     "poll_ms": 3000}

Rows are the user's escalations created or changed after the cursor, oldest change first,
rendered with the changelist's own cell code (so a refreshed row is the row a reload would show),
each saying whether it still `matches` the page's filters and search. A row that changed out of
the filtered set (an open one assigned under "status: open") comes back with `matches: false`:
the page updates it and marks it as no longer matching instead of showing a stale "Open"; the page
ignores non-matching rows it does not show. Filters, search and tenancy come from the same
ChangeList the page uses (escalation_changelist.filtered_queryset), so `matches` is what a reload
would show, and nothing outside the user's tenants is ever returned.

Cost per poll: ONE query, `… EXISTS(<filters> AND pk = row.pk) … WHERE updated_at > %s ORDER BY
updated_at LIMIT 101` on the `escalation_updated_at` index (the EXISTS is a primary-key probe per
changed row), plus the session, the user and their memberships.

The cursor is an updated_at; each poll looks OVERLAP back from it, because a transaction that
committed late can carry an updated_at older than rows already seen. Rows seen before come back
with the same version and the page ignores them; without `since` the feed answers no rows and a
fresh cursor (the page embeds one taken before its own query).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

# The theme's cells (its classes and data-label for the phone layout), as the list's first render.
from unfold.templatetags.unfold_list import items_for_result

from conversations.admin.escalation_changelist import filtered_queryset
from conversations.admin.escalation_display import iso, version_of
from conversations.queue import queues_for_page
from core.hostile_input import date_in_range

POLL_MS = 3000
MAX_ROWS = 100
OVERLAP = dt.timedelta(seconds=2)
CURSOR = "since"


def cursor_now() -> str:
    return iso(timezone.now())


def parse_cursor(raw: str) -> dt.datetime | None:
    try:
        value = parse_datetime(raw.strip())
    except ValueError:
        return None
    if value is None or not date_in_range(value.date()):
        return None  # a cursor this feed never hands out; out of range, its arithmetic would overflow
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def respond(model_admin, request):
    raw = request.GET.get(CURSOR, "")
    if not raw:
        return JsonResponse({"rows": [], "cursor": cursor_now(), "more": False, "poll_ms": POLL_MS})
    since = parse_cursor(raw)
    if since is None:
        return JsonResponse(
            {"error": "bad_cursor", "message": f"?{CURSOR}= must be the cursor of the previous answer."},
            status=400,
        )
    changelist = filtered_queryset(model_admin, request, drop=(CURSOR,))
    still = changelist.queryset.order_by().filter(pk=OuterRef("pk"))
    rows = list(
        model_admin.get_queryset(request)
        .select_related(*model_admin.list_select_related)
        .filter(updated_at__gt=since - OVERLAP)
        .annotate(matches_filters=Exists(still))
        .order_by("updated_at", "pk")[: MAX_ROWS + 1]
    )
    more = len(rows) > MAX_ROWS
    rows = rows[:MAX_ROWS]
    # The Queue column, as on the page (a queue move touches updated_at, so moved rows come here).
    queues = queues_for_page(rows)
    for row in rows:
        row.page_queue = queues.get(row.pk)
    cursor = max([since, *(row.updated_at for row in rows)])
    return JsonResponse(
        {
            "rows": [
                {
                    "id": str(row.pk),
                    "version": version_of(row),
                    "status": row.status,
                    "matches": row.matches_filters,
                    "html": "".join(str(cell) for cell in items_for_result(changelist, row, None)),
                }
                for row in rows
            ],
            "cursor": iso(cursor),
            "more": more,
            "poll_ms": POLL_MS,
        }
    )
