"""Each person's time zone: every date and time in the admin is shown in it (UTC by default).

The zone lives in UserPreference and is copied into the session when it is saved and at login,
so activating it costs no query per request (the live list polls every few seconds).
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from core.models import UserPreference

SESSION_KEY = "hitl_time_zone"
ZONES = sorted(zone for zone in zoneinfo.available_timezones() if "/" in zone or zone == "UTC")


class TimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


@receiver(user_logged_in)
def _remember_zone(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    zone = UserPreference.objects.filter(user=user).values_list("time_zone", flat=True).first()
    request.session[SESSION_KEY] = zone or "UTC"


class PreferenceForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=[(zone, zone.replace("_", " ")) for zone in ZONES],
        help_text="Dates and times in the admin are shown in this zone.",
    )


def view(request, site):
    current = UserPreference.objects.filter(user=request.user).first()
    form = PreferenceForm(
        request.POST or None, initial={"time_zone": current.time_zone if current else "UTC"}
    )
    if request.method == "POST" and form.is_valid():
        zone = form.cleaned_data["time_zone"]
        UserPreference.objects.update_or_create(user=request.user, defaults={"time_zone": zone})
        request.session[SESSION_KEY] = zone
        messages.success(request, f"Times are now shown in {zone}.")
        return redirect("admin:preferences")
    context = {**site.each_context(request), "title": "Your settings", "form": form}
    return TemplateResponse(request, "admin/preferences.html", context)


def install(site) -> None:
    """Add /admin/preferences/ to `site` (once; before its URLs are built)."""
    if getattr(site, "_hitl_preferences", False):
        return
    site._hitl_preferences = True
    get_urls = site.get_urls

    def urls():
        from django.urls import path

        own = [path("preferences/", site.admin_view(lambda request: view(request, site)), name="preferences")]
        return own + get_urls()

    site.get_urls = urls
