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


class BadQueryParameterMiddleware:
    """A page that refused one of its query parameters (core.hostile_input.BadQueryParameter)
    answers 400 with a page naming the parameter and why, a form to enter it again, the same page
    without it and the unfiltered page: the person can correct the URL without editing it by hand."""

    TEMPLATE = "errors/bad_parameter.html"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # An admin changelist (ModelAdmin.get_urls marks its views with `model_admin`).
        model_admin = getattr(view_func, "model_admin", None)
        match = request.resolver_match
        if model_admin is not None and match is not None and match.url_name.endswith("_changelist"):
            from core.admin_dates import check_date_hierarchy
            from core.hostile_input import BadQueryParameter

            try:
                check_date_hierarchy(model_admin, request)
            except BadQueryParameter as exc:
                return self.process_exception(request, exc)
        return None

    def process_exception(self, request, exception):
        from core.hostile_input import BadQueryParameter

        if not isinstance(exception, BadQueryParameter):
            return None
        message = f"The filter “{exception.parameter}” {exception.reason}."
        if not request.accepts("text/html"):
            from django.http import JsonResponse

            return JsonResponse(
                {"error": "bad_parameter", "parameter": exception.parameter, "message": message}, status=400
            )
        others = request.GET.copy()
        others.pop(exception.parameter, None)
        others.pop("p", None)  # the page number of another result set
        without = f"{request.path}?{others.urlencode()}" if others else request.path
        context = {
            "status": 400,
            "title": "This filter cannot be used",
            "text": message,
            "parameter": exception.parameter,
            "others": [(key, value) for key, values in others.lists() for value in values],
            "without_url": without,
            "unfiltered_url": request.path,
        }
        return TemplateResponse(request, self.TEMPLATE, context, status=400).render()


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
