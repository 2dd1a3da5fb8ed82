"""Date query parameters of the admin's lists, checked before a query is built from them.

Django's date list filter passes `<field>__gte` / `__lt` straight to the queryset and its date
hierarchy does arithmetic on `<field>__year` / `__month` / `__day`: a year of 9999 overflows
(a 500), and a date such as 0001-01-05 either overflows in a time zone or silently filters on
nonsense. Every such value must be a date between MIN_DATE and MAX_DATE, or the page answers 400
naming the parameter (core.hostile_input.BadQueryParameter, rendered by core.error_pages).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.filters import FieldListFilter
from django.db import models

from core.hostile_input import MAX_DATE, MIN_DATE, BadQueryParameter, query_datetime


class StrictDateFieldListFilter(admin.DateFieldListFilter):
    """Django's "Any date / Today / Past 7 days…" filter, refusing a bound it did not offer."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        for name in (f"{field_path}__gte", f"{field_path}__lt"):
            values = params.get(name)
            if values and values[-1].strip():
                query_datetime(name, values[-1])
        super().__init__(field, request, params, model, model_admin, field_path)


# Before Django's own registration of DateFieldListFilter, for every DateField and DateTimeField.
FieldListFilter.register(
    lambda f: isinstance(f, models.DateField), StrictDateFieldListFilter, take_priority=True
)


def check_date_hierarchy(model_admin, request) -> None:
    """A list's date hierarchy (`<field>__year/__month/__day`) names a real period in range.
    Run for every admin changelist (core.error_pages.BadQueryParameterMiddleware), the installed
    apps' lists (axes, celery beat) included."""
    field = getattr(model_admin, "date_hierarchy", None)
    if not field:
        return
    for unit, low, high in (("year", MIN_DATE.year, MAX_DATE.year), ("month", 1, 12), ("day", 1, 31)):
        name = f"{field}__{unit}"
        raw = request.GET.get(name)
        if raw is None:
            continue
        if not raw.strip().isdigit() or not low <= int(raw) <= high:
            raise BadQueryParameter(name, raw, f"must be a whole number from {low} to {high}")
