"""The bot API's JSON parser: DRF's, plus refusing what PostgreSQL or the stack cannot take."""

from __future__ import annotations

from rest_framework.parsers import JSONParser

from conversations.api.errors import ApiError
from core.hostile_input import json_problem, loads


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        if not body:
            return {}
        try:
            data = loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, "malformed_request", f"The body is not valid JSON: {exc}") from None
        problem = json_problem(data)
        if problem:
            raise ApiError(400, "invalid_request", f"The JSON body {problem}.")
        return data
