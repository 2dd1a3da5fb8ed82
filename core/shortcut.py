"""The admin's "view on site" shortcut (/admin/r/<content_type>/<id>/), tenant-scoped.

Django's own shortcut looks up any object of any model and says why it could not (no such content
type, no such object, no get_absolute_url) in its 404, which DEBUG shows: a tenant admin could
probe other organisations' ids. This one answers one and the same 404 whenever the object is not
one the user may see, whatever the reason (foreign, missing, malformed), with DEBUG on or off.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponseRedirect

NOT_FOUND = "Not found."


def _visible(model, user):
    manager = model._default_manager
    if user.is_superuser:
        return manager.all()
    if getattr(model, "tenant_lookup", None) and hasattr(manager, "visible_to"):
        return manager.visible_to(user)
    return None  # a model without tenancy is for superusers only


def view_on_site(request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponseRedirect:
    try:
        content_type = ContentType.objects.get_for_id(int(content_type_id))
        model = content_type.model_class()
        queryset = _visible(model, request.user) if model is not None else None
        obj = queryset.get(pk=object_id) if queryset is not None else None
    except Exception:  # malformed ids, unknown content types, no such row: all the same answer
        obj = None
    url = obj.get_absolute_url() if obj is not None and hasattr(obj, "get_absolute_url") else None
    if not url:
        raise Http404(NOT_FOUND)
    return HttpResponseRedirect(url)
