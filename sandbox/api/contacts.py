"""CRM contacts: search and get by id (contract §7). Bearer, scope crm.objects.contacts.read.

Search runs in Python over the portal's contacts: a sandbox holds a handful, and evaluating
HubSpot's operators directly keeps their semantics (case-insensitive EQ, token matching with `*`
wildcards; `phone` as typed, found in any format only through the calculated
`hs_searchable_calculated_*` properties, sandbox/phones.py) readable in one place.
"""

from __future__ import annotations

import fnmatch
import re

from sandbox.api import auth
from sandbox.api.endpoint import endpoint, json_body, ok, route
from sandbox.api.errors import ApiError, validation_error
from sandbox.api.params import flag, multi, paged
from sandbox.api.validation import one_of
from sandbox.models import SandboxContact
from sandbox.serializers import contact_json, contact_properties

READ = ("crm.objects.contacts.read",)
WRITE = ("crm.objects.contacts.write",)
CREATABLE = ("email", "firstname", "lastname", "phone", "mobilephone")
OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
# HubSpot's default full-text search fields for contacts (`query`).
QUERY_PROPERTIES = ("email", "firstname", "lastname", "phone", "mobilephone")
MAX_FILTER_GROUPS = 6  # the 2026-03 spec (HubSpot guides older than it say 5)
MAX_FILTERS = 18
MAX_LIMIT = 200


def _key(name: str, value: str) -> str:
    # HubSpot compares `phone` and `mobilephone` as typed ("07700 900001" is not "+447700900001");
    # its calculated `hs_searchable_calculated_*` properties are what finds a number in any format.
    return value.lower()


def _number(value: str):
    try:
        return float(value)
    except ValueError:
        return value.lower()


def _tokens(value: str) -> list[str]:
    return [t for t in re.split(r"[\s,;]+", value.lower()) if t] + [value.lower()]


def matches(props: dict[str, str], f: dict) -> bool:
    name, op = f["propertyName"], f["operator"]
    actual = props.get(name)
    if op == "HAS_PROPERTY":
        return actual is not None
    if op == "NOT_HAS_PROPERTY":
        return actual is None
    value = str(f.get("value", ""))
    values = [str(v) for v in f.get("values") or []]
    if op in ("IN", "NOT_IN"):
        inside = actual is not None and _key(name, actual) in {_key(name, v) for v in values}
        return inside if op == "IN" else not inside
    if op == "EQ":
        return actual is not None and _key(name, actual) == _key(name, value)
    if op == "NEQ":
        return actual is None or _key(name, actual) != _key(name, value)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = value.lower()
        found = actual is not None and any(fnmatch.fnmatchcase(t, pattern) for t in _tokens(actual))
        return found if op == "CONTAINS_TOKEN" else not found
    if actual is None:
        return False
    left = _number(actual)
    if op == "BETWEEN":
        low, high = _number(value), _number(str(f.get("highValue", "")))
        return type(left) is type(low) is type(high) and low <= left <= high
    right = _number(value)
    if type(left) is not type(right):
        return False
    return {"LT": left < right, "LTE": left <= right, "GT": left > right, "GTE": left >= right}[op]


def _validated_groups(data: dict) -> list[list[dict]]:
    groups = data.get("filterGroups") or []
    if not isinstance(groups, list):
        raise validation_error("filterGroups must be a list", field="filterGroups")
    if len(groups) > MAX_FILTER_GROUPS:
        raise validation_error(
            f"Too many filter groups: {len(groups)} (max {MAX_FILTER_GROUPS})", field="filterGroups"
        )
    result = []
    for gi, group in enumerate(groups):
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation_error(
                f"filterGroups[{gi}].filters is required", field=f"filterGroups[{gi}].filters"
            )
        for fi, f in enumerate(filters):
            where = f"filterGroups[{gi}].filters[{fi}]"
            if not isinstance(f, dict) or not f.get("propertyName") or not f.get("operator"):
                raise validation_error(f"{where} needs propertyName and operator", field=where)
            one_of(f["operator"], OPERATORS, f"{where}.operator", "FilterOperatorEnum")
            if f["operator"] in ("IN", "NOT_IN") and not isinstance(f.get("values"), list):
                raise validation_error(
                    f"{where}.values is required for {f['operator']}", field=f"{where}.values"
                )
        result.append(filters)
    if sum(len(g) for g in result) > MAX_FILTERS:
        raise validation_error(f"Too many filters (max {MAX_FILTERS})", field="filterGroups")
    return result


def _properties(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [p for p in value.split(",") if p]
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return value
    raise validation_error("properties must be a list of property names", field="properties")


def _limit(data: dict) -> int:
    limit = data.get("limit", 10)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_LIMIT:
        raise validation_error(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def search(request):
    data = json_body(request)
    groups = _validated_groups(data)
    properties = _properties(data.get("properties"))
    query = data.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > 3000):
        raise validation_error("query must be a string of at most 3000 characters", field="query")
    found = []
    for contact in SandboxContact.objects.filter(portal=request.caller.portal, archived=False).order_by("id"):
        props = contact_properties(contact)
        if groups and not any(all(matches(props, f) for f in group) for group in groups):
            continue
        if query and not any(query.lower() in props.get(p, "").lower() for p in QUERY_PROPERTIES):
            continue
        found.append(contact)
    body = paged(
        found,
        lambda c: contact_json(c, properties),
        after=str(data["after"]) if data.get("after") not in (None, "") else None,
        limit=_limit(data),
        maximum=MAX_LIMIT,
    )
    return ok(body)


@endpoint(auth_kind=auth.BEARER, scopes=READ)
def get_contact(request, contact_id: str):
    contacts = SandboxContact.objects.filter(portal=request.caller.portal, archived=flag(request, "archived"))
    id_property = request.GET.get("idProperty") or "hs_object_id"
    if id_property == "email":
        contact = contacts.filter(email__iexact=contact_id).first()
    elif id_property == "hs_object_id":
        contact = contacts.filter(pk=int(contact_id)).first() if contact_id.isdigit() else None
    else:
        raise validation_error(f"idProperty {id_property} is not a unique property", field="idProperty")
    if contact is None:
        raise ApiError(
            404,
            "Object not found.  objectId are usually numeric.",
            "OBJECT_NOT_FOUND",
            context={"id": [contact_id]},
        )
    return ok(contact_json(contact, multi(request, "properties") or None))


@endpoint(auth_kind=auth.BEARER, scopes=WRITE)
def create(request):
    """POST …/contacts: `{properties, associations}`; email is unique per portal (409 with the
    existing id, as HubSpot answers)."""
    data = json_body(request)
    props = data.get("properties")
    if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
        raise validation_error("properties must be an object of string values", field="properties")
    if not isinstance(data.get("associations"), list):
        raise validation_error("associations is required (a list, possibly empty)", field="associations")
    unknown = sorted(set(props) - set(CREATABLE))
    if unknown:
        raise validation_error(f"Property values were not valid: {unknown} do not exist", field="properties")
    email = (props.get("email") or "").strip()
    portal = request.caller.portal
    existing = SandboxContact.objects.filter(portal=portal, email__iexact=email).first() if email else None
    if existing:
        raise ApiError(409, f"Contact already exists. Existing ID: {existing.pk}", "CONFLICT")
    contact = SandboxContact.objects.create(portal=portal, **{k: props.get(k, "") for k in CREATABLE})
    return ok(contact_json(contact), status=201)


search_view = route(POST=search)
collection = route(POST=create)
item = route(GET=get_contact)
