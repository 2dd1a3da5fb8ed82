"""Small HTML pieces shared by the connections admin pages."""

from django.utils.html import format_html

# The admin's own palette for "good / bad / idle", so badges read the same on every page.
COLOURS = {"ok": "#1a7f37", "bad": "#cf222e", "busy": "#9a6700", "idle": "#6e7781"}


def copyable(value: str):
    """A value to paste into HubSpot, with a button that copies it (static/connections/console.js)."""
    return format_html(
        '<span class="hitl-copy"><code>{}</code>'
        '<button type="button" class="button hitl-copy-btn" data-copy="{}">Copy</button></span>',
        value,
        value,
    )


MEDIA_JS = ("connections/console.js",)
MEDIA_CSS = {"all": ("connections/console.css",)}
