"""Hold the client's request bodies to hubspot-sdk's own request types (docs/hubspot-contract.md).

`assert_sdk_body(body, ParamsTypedDict)` maps our camelCase JSON onto the SDK's snake_case
TypedDict the way the SDK's `PropertyInfo(alias=...)` annotations do it (in reverse), failing on
any key the SDK type does not know; validates the result strictly with pydantic (types, Literal
values, required keys); and finally re-serialises it with the SDK's own `maybe_transform`, which
must give back exactly the body we sent. A renamed, retyped, missing or extra field fails.

`sdk_request(...)` captures what the SDK itself sends for a call, through an httpx MockTransport,
so tests can compare method, path, query and body with the client's request.
"""

from __future__ import annotations

import collections.abc
import json
import typing
from dataclasses import dataclass
from typing import Any

import httpx
import hubspot_sdk
import pydantic
import typing_extensions
from hubspot_sdk._utils import PropertyInfo, maybe_transform

_REQUIRED = {typing.Required, typing_extensions.Required}
_NOT_REQUIRED = {typing.NotRequired, typing_extensions.NotRequired}
_LISTS = {list, collections.abc.Iterable, collections.abc.Sequence, tuple}


def _unwrap(tp) -> tuple[Any, str | None, bool]:
    """(bare type, alias, required) of a TypedDict field annotation."""
    required = False
    alias = None
    while True:
        origin = typing_extensions.get_origin(tp)
        if origin in _REQUIRED:
            required = True
            tp = typing_extensions.get_args(tp)[0]
        elif origin in _NOT_REQUIRED:
            tp = typing_extensions.get_args(tp)[0]
        elif origin is typing_extensions.Annotated:
            args = typing_extensions.get_args(tp)
            for meta in tp.__metadata__:
                if isinstance(meta, PropertyInfo) and meta.alias:
                    alias = meta.alias
            tp = args[0]
        else:
            return tp, alias, required


def _fields(td) -> dict[str, tuple[str, Any, bool]]:
    """JSON key -> (python name, type, required)."""
    hints = typing_extensions.get_type_hints(td, include_extras=True)
    out = {}
    for name, annotation in hints.items():
        tp, alias, required = _unwrap(annotation)
        out[alias or name] = (name, tp, required)
    return out


class BodyMismatch(AssertionError):
    pass


def to_sdk_params(value: Any, tp: Any, where: str = "body") -> Any:
    tp, _, _ = _unwrap(tp)
    if typing_extensions.is_typeddict(tp):
        if not isinstance(value, dict):
            raise BodyMismatch(f"{where}: expected an object for {tp.__name__}, got {type(value).__name__}")
        fields = _fields(tp)
        out = {}
        for key, item in value.items():
            if key not in fields:
                raise BodyMismatch(f"{where}: {tp.__name__} has no field {key!r} (known: {sorted(fields)})")
            name, ftype, _ = fields[key]
            out[name] = to_sdk_params(item, ftype, f"{where}.{key}")
        return out
    origin = typing_extensions.get_origin(tp)
    if origin is typing.Union:
        problems = []
        for member in typing_extensions.get_args(tp):
            try:
                converted = to_sdk_params(value, member, where)
                pydantic.TypeAdapter(member).validate_python(converted, strict=True)
                return converted
            except (BodyMismatch, pydantic.ValidationError) as exc:
                problems.append(str(exc).splitlines()[0])
        raise BodyMismatch(f"{where}: matches no member of {tp}: {problems}")
    if origin in _LISTS or getattr(tp, "__name__", "") == "SequenceNotStr":
        if not isinstance(value, list):
            raise BodyMismatch(f"{where}: expected an array, got {type(value).__name__}")
        (inner,) = typing_extensions.get_args(tp)[:1] or (Any,)
        return [to_sdk_params(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def assert_sdk_body(body: Any, td, *, path_params: dict | None = None, partial: bool = False) -> dict:
    """Validate `body` (what our client sent) against the SDK request type `td`; returns the
    snake_case params. `path_params` are SDK fields that travel in the path, not the body;
    `partial` tolerates missing required keys (the SDK's PATCH types require every key and rely on
    `omit` for the ones not sent)."""
    params = to_sdk_params(body, td)
    full = {**params, **(path_params or {})}
    try:
        pydantic.TypeAdapter(td).validate_python(full, strict=True)
    except pydantic.ValidationError as exc:
        problems = [e for e in exc.errors() if not (partial and e["type"] == "missing")]
        if problems:
            raise BodyMismatch(f"{td.__name__}: {problems}") from None
    again = maybe_transform(params, td)
    if again != body:
        raise BodyMismatch(f"SDK serialises {td.__name__} differently:\nours {body}\nsdk  {again}")
    return params


@dataclass
class SdkRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: httpx.Headers
    content: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.content) if self.content else None


def sdk_request(call, *, response: Any = None, status: int = 200, access_token="sdk-token", dev_key=None):
    """Run `call(sdk_client)` against a mock transport; returns the request the SDK sent."""
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        if response is None:
            return httpx.Response(204)
        return httpx.Response(status, json=response)

    client = hubspot_sdk.HubSpot(
        access_token=access_token,
        developer_api_key=dev_key,
        base_url="https://api.hubapi.com",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        max_retries=0,
    )
    call(client)
    (request,) = captured
    query: dict[str, list[str]] = {}
    for key, value in request.url.params.multi_items():
        query.setdefault(key, []).append(value)
    return SdkRequest(request.method, request.url.path, query, request.headers, request.read())
