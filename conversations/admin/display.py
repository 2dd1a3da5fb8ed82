"""HTML pieces shared by the conversations log admins: badges, raw text, links, headers."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from connections.admin.display import MEDIA_CSS
from core.templatetags.hitl_time import when as hitl_when

TONES = {
    "processed": "ok",
    "delivered": "ok",
    "received": "busy",
    "pending": "busy",
    "ignored": "idle",
    "no_callback": "idle",
    "failed": "bad",
}
# Header names holding credentials or signatures are never printed, whatever storage kept: the
# receipt shows that they came, not what they said.
HIDDEN_HEADER_WORDS = (
    "signature",
    "secret",
    "token",
    "authorization",
    "cookie",
    "api-key",
    "apikey",
    "password",
)
HIDDEN = "(hidden)"
RAW_STYLE = "white-space:pre-wrap;overflow-wrap:anywhere;max-height:40em;overflow:auto;margin:0"

__all__ = ["MEDIA_CSS"]


def badge(value: str, label: str | None = None):
    return format_html('<span class="hitl-badge hitl-{}">{}</span>', TONES.get(value, "idle"), label or value)


def when(value):
    """The admin's one way to show a moment: relative, the exact time in the viewer's zone on hover."""
    return hitl_when(value)


def excerpt(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut(text: str, *, narrow: bool = False):
    """A list cell's long text on one line, cut by the stylesheet at the column's width, the whole
    text (up to 500 characters) on hover: wide tables stay readable at 1280 px."""
    text = " ".join((text or "").split())
    if not text:
        return "—"
    return format_html(
        '<span class="hitl-trunc{}" title="{}">{}</span>',
        " hitl-trunc-narrow" if narrow else "",
        excerpt(text, 500),
        text,
    )


def raw(text: str):
    """Text exactly as received, HTML-escaped; JSON is indented for reading."""
    return format_html('<pre class="hitl-raw" style="{}">{}</pre>', RAW_STYLE, pretty_json(text))


def pretty_json(value) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value  # not JSON: shown as it came
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def is_hidden_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in HIDDEN_HEADER_WORDS)


def shown_headers(headers: dict) -> list[tuple[str, str]]:
    return sorted(
        ((name, HIDDEN if is_hidden_header(name) else str(value)) for name, value in (headers or {}).items()),
        key=lambda item: item[0].lower(),
    )


def headers_table(headers: dict):
    rows = shown_headers(headers)
    if not rows:
        return "—"
    return format_html(
        '<table class="hitl-table"><tbody>{}</tbody></table>',
        format_html_join("", "<tr><th scope='row'>{}</th><td><code>{}</code></td></tr>", rows),
    )


def admin_link(obj, text=None):
    """A link to the object's admin page, or plain text where its model has no admin (yet)."""
    if obj is None:
        return "—"
    try:
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(text or obj)
    return format_html('<a href="{}">{}</a>', url, text or obj)


def url_host(url: str) -> str:
    return urlsplit(url or "").netloc or "—"


def url_without_query(url: str) -> str:
    """Scheme, host and path: a query string or fragment may carry a bot's token."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else "—"
