"""The demo bot's HTTP client for the portal's bot API (/api/v1/), as any bot would call it.

Requests go over real HTTP to PUBLIC_BASE_URL, never through Django internals, so the chat page
exercises authentication, validation and error bodies exactly as an outside bot sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from django.conf import settings

from core.secrets import SecretStr

TIMEOUT = (5, 60)  # the start publishes the transcript to HubSpot before it answers


@dataclass
class ApiError(Exception):
    status: int | None
    message: str

    def __str__(self) -> str:
        return self.message


class BotApi:
    def __init__(self, api_key: str, base_url: str | None = None) -> None:
        key = api_key.reveal() if isinstance(api_key, SecretStr) else api_key
        self.base = (base_url or settings.PUBLIC_BASE_URL).rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {key}", "Accept": "application/json"})

    def _call(self, method: str, path: str, *, ok=(200, 201), **kwargs) -> dict | list:
        try:
            response = self.session.request(method, f"{self.base}{path}", timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(None, f"The bot API at {self.base} did not answer: {exc}") from None
        if response.status_code not in ok:
            raise ApiError(response.status_code, describe_error(response))
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status_code, "The bot API answered with something not JSON.") from None

    def start(self, payload: dict, *, idempotency_key: str) -> dict:
        return self._call("POST", "/escalations/", json=payload, headers={"Idempotency-Key": idempotency_key})

    def send(self, escalation_id: str, text: str, *, idempotency_key: str) -> dict:
        return self._call(
            "POST",
            f"/escalations/{escalation_id}/messages/",
            json={"text": text, "client_message_id": idempotency_key},
            headers={"Idempotency-Key": idempotency_key},
            ok=(200, 201, 202),
        )

    def close(self, escalation_id: str, *, reason: str = "bot_closed") -> dict:
        return self._call(
            "POST", f"/escalations/{escalation_id}/close/", json={"reason": reason}, ok=(200, 201, 202)
        )

    def get(self, escalation_id: str) -> dict:
        return self._call("GET", f"/escalations/{escalation_id}/")

    def events(self, escalation_id: str, after: int = 0) -> list[dict]:
        """Every event after `after`; the API pages with {"results": [...], "next_after": n|null}."""
        found: list[dict] = []
        while True:
            body = self._call("GET", f"/escalations/{escalation_id}/events/", params={"after": after})
            if isinstance(body, list):
                return found + body
            page = body.get("results") or []
            found += page
            following = body.get("next_after")
            if not page or following is None or following <= after:
                return found
            after = following


def describe_error(response: requests.Response) -> str:
    """One readable sentence from an API error, whatever shape the body has."""
    prefix = f"The bot API answered {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f"{prefix}: {text[:300]}" if text else f"{prefix}."
    return f"{prefix}: {_flatten(body)}"


def _flatten(body, field: str = "") -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return _flatten(error, field)
        # The API answers {"error": "<code>", "message": "<for a person>"}; keep both.
        code = next((body[k] for k in ("code", "error") if isinstance(body.get(k), str)), "")
        for key in ("message", "detail", "error"):
            if isinstance(body.get(key), str):
                text = body[key]
                return f"{text} ({code})" if code and code not in text else text
        parts = [_flatten(value, key if not field else f"{field}.{key}") for key, value in body.items()]
        return "; ".join(p for p in parts if p)
    if isinstance(body, list):
        return "; ".join(_flatten(item, field) for item in body)
    return f"{field}: {body}" if field else str(body)
