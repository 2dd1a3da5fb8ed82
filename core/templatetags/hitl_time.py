"""One way to show a moment across the admin: relative where a person scans ("4 min ago"), the
exact time in the viewer's time zone on hover, and a machine-readable <time datetime>.

    {% load hitl_time %}{{ value|when }}
        → <time datetime="…Z" title="2026-12-03 16:58:02 UTC">4 min ago</time>
    {{ value|exact }}  → 2026-12-03 16:58:02 UTC
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

EXACT_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def exact_text(value: dt.datetime | None) -> str:
    if not value:
        return ""
    return timezone.localtime(value).strftime(EXACT_FORMAT)


def relative_text(value: dt.datetime, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    seconds = int((now - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        amount = f"{max(1, round(seconds / 60))} min"
    elif seconds < 86400:
        amount = (
            f"{seconds // 3600} h {(seconds % 3600) // 60} min"
            if seconds < 6 * 3600
            else f"{seconds // 3600} h"
        )
    elif seconds < 14 * 86400:
        days = seconds // 86400
        amount = f"{days} day{'s' if days != 1 else ''}"
    else:
        return timezone.localtime(value).strftime("%d %b %Y")
    return f"in {amount}" if future else f"{amount} ago"


@register.filter
def when(value):
    if not value:
        return "—"
    return format_html(
        '<time class="hitl-rel" datetime="{}" title="{}">{}</time>',
        value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        exact_text(value),
        relative_text(value),
    )


@register.filter
def exact(value):
    return exact_text(value) or "—"
