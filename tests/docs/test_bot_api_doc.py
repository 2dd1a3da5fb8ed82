"""docs/bot-api.md: every JSON example is valid against the bot API's OpenAPI schema, and each
event example has exactly the shape the portal's own code produces (tests/docs/envelopes.py), so
neither the doc nor the schema can drift from what bots receive."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator

from conversations.api.throttling import RateLimited, StartEscalationRateThrottle
from conversations.models import EventType
from tests.docs.envelopes import generate

DOC = Path(__file__).resolve().parents[2] / "docs" / "bot-api.md"
EXAMPLE = re.compile(r"<!-- example: (event|request|response) (\S+) -->\s*```json\n(.*?)```", re.S)


def examples() -> list[tuple[str, str, object]]:
    return [(kind, name, json.loads(body)) for kind, name, body in EXAMPLE.findall(DOC.read_text())]


def json_schema(openapi: dict, component: str) -> dict:
    """An OpenAPI 3.0 component as JSON Schema 2020-12 (`nullable` becomes a null alternative)."""

    def convert(node):
        if isinstance(node, dict):
            node = {k: convert(v) for k, v in node.items()}
            if node.pop("nullable", False):
                node = {"anyOf": [node, {"type": "null"}]}
            return node
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    schemas = convert(copy.deepcopy(openapi["components"]["schemas"]))
    return {"$ref": f"#/$defs/{component}", "$defs": schemas}


def refs(node) -> str:
    return json.dumps(node).replace("#/components/schemas/", "#/$defs/")


@pytest.fixture(scope="module")
def openapi() -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(refs(schema))


def shape(value):
    """The structure of a JSON value: keys and types, not the values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__ if value is not None else "null"


def test_every_example_is_valid_against_the_openapi_schema(openapi):
    found = examples()
    assert len(found) >= 10
    for kind, name, body in found:
        component = "Event" if kind == "event" else name
        errors = list(Draft202012Validator(json_schema(openapi, component)).iter_errors(body))
        assert not errors, f"{kind} {name}: {[e.message for e in errors]}"


def test_the_schema_rejects_what_a_bot_would_never_get(openapi):
    # The check above must be able to fail.
    validator = Draft202012Validator(json_schema(openapi, "Event"))
    assert list(validator.iter_errors({"id": "x", "type": "escalation.opened"}))
    start = Draft202012Validator(json_schema(openapi, "StartEscalationRequest"))
    assert list(start.iter_errors({"conversation_id": "c", "user": {"phone": "+1"}, "title": 3}))


@pytest.mark.django_db
def test_every_event_type_is_documented_with_the_shape_the_code_produces():
    generated = generate()
    documented = {name: body for kind, name, body in examples() if kind == "event"}
    assert set(documented) == {*EventType.values, "ping"}
    for name, body in documented.items():
        assert shape(body) == shape(generated[name]), (
            f"docs/bot-api.md's {name} no longer matches the code; it produces:\n"
            + json.dumps(generated[name], indent=2)
        )


def test_the_rate_limit_example_is_what_the_throttle_answers(settings):
    settings.HITL_BOT_API_START_RATE_LIMIT = "60/min"
    (documented,) = [body for kind, name, body in examples() if name == "RateLimited"]
    throttle = StartEscalationRateThrottle()
    throttle.num_requests, throttle.duration = throttle.parse_rate("60/min")
    answered = RateLimited(12, throttle)
    assert documented == {"error": answered.error_code, "message": str(answered.detail), **answered.extra}


def test_the_start_endpoint_documents_its_callbacks(openapi):
    callbacks = openapi["paths"]["/api/v1/escalations/"]["post"]["callbacks"]["events"]
    (operation,) = callbacks["{$request.body#/callback_url}"].values()
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/$defs/Event"}
    for header in ("X-HITL-Event-Id", "X-HITL-Signature", "webhook-signature", "X-Request-ID"):
        assert header in operation["description"]
