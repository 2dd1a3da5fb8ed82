"""Error pages a person can act on, inside the admin's chrome: 403, 404, 405 and 500.

Django's own are one bare line ("Not Found"); a 405 from a POST-only view is an empty page. These
say what happened and what to do next, with the admin's header and a way home. The JSON APIs keep
their JSON errors (DRF answers those itself); only HTML requests get these pages.
"""

from __future__ import annotations

from django.http import HttpResponseNotAllowed
from django.template import loader
from django.template.response import TemplateResponse
from django.views.decorators.csrf import requires_csrf_token

TEMPLATE = "errors/error.html"

COPY = {
    403: (
        "You cannot open this page",
        "Your account does not have access to it. Support leads can look at escalations but not "
        "change them; ask an admin of your organisation if you need more.",
    ),
    404: (
        "Page not found",
        "It may have been removed, or it belongs to an organisation you are not a member of.",
    ),
    405: (
        "This address is not a page",
        "It runs an action from a button, so opening it directly does nothing. Go back and use the button.",
    ),
    500: (
        "Something went wrong on our side",
        "The error was logged. Try again in a moment; if it keeps happening, tell your administrator "
        "what you were doing.",
    ),
}


def _chrome(request) -> dict:
    """The admin's context (sidebar, branding, account menu) for signed-in staff; the bare theme
    for anyone else, who may not see the admin's navigation."""
    from django.contrib import admin

    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return {"is_nav_sidebar_enabled": False}
    return admin.site.each_context(request)


def _page(request, status: int):
    title, text = COPY[status]
    context = {**_chrome(request), "status": status, "title": title, "text": text}
    return TemplateResponse(request, TEMPLATE, context, status=status)


@requires_csrf_token
def not_found(request, exception=None):
    return _page(request, 404)


@requires_csrf_token
def forbidden(request, exception=None):
    return _page(request, 403)


def server_error(request):
    # No request context: whatever failed may be what the context processors need.
    title, text = COPY[500]
    body = loader.get_template("errors/500.html").render({"status": 500, "title": title, "text": text})
    from django.http import HttpResponseServerError

    return HttpResponseServerError(body)


class MethodNotAllowedPageMiddleware:
    """An empty 405 (require_POST and friends) becomes the page above for a browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            isinstance(response, HttpResponseNotAllowed)
            and not response.content
            and "text/html" in request.headers.get("Accept", "")
        ):
            page = _page(request, 405)
            page["Allow"] = response["Allow"]
            return page.render()
        return response
