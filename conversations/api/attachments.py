"""Attachments a bot sends with a message: fetched (URL) or decoded (base64), checked against the
size and type limits, and uploaded to HubSpot's Files API at request time.

Uploading in the request (not in the publish task) means a bad file is a clear 4xx to the bot
rather than a failed escalation later, and no file bytes have to be stored between request and
task. The message row keeps only the HubSpot file id; publishing attaches it as a FILE.

URL fetches check the URL's form on every hop and connect only to public addresses, judged on the
address really connected to (core.outbound); a refused address reads like an unreachable host.
A timeout and a size cap read as a stream mean a bot cannot make us read an endless body.
"""

from __future__ import annotations

import fnmatch
import mimetypes
import posixpath
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from connections.hubspot import RETRYABLE_ERRORS, HubSpotClient, HubSpotError
from conversations.api.errors import ApiError
from conversations.callback_urls import CallbackURLError, validate_callback_url
from core import outbound

FOLDER_PATH = "/conversations/hitl-attachments"
MAX_REDIRECTS = 3
CHUNK = 64 * 1024


def _too_large(field: str, size_hint: str = "") -> ApiError:
    limit = settings.HITL_ATTACHMENT_MAX_BYTES
    return ApiError(
        413,
        "attachment_too_large",
        f"{field}: the file is larger than the limit of {limit} bytes{size_hint}.",
    )


def _check_type(field: str, content_type: str) -> str:
    content_type = (content_type or "").split(";", 1)[0].strip().lower()
    allowed = settings.HITL_ATTACHMENT_ALLOWED_TYPES
    if not content_type or not any(fnmatch.fnmatch(content_type, pattern) for pattern in allowed):
        raise ApiError(
            415,
            "unsupported_attachment_type",
            f"{field}: content type {content_type or '(none)'} is not allowed; "
            f"allowed: {', '.join(allowed)}.",
        )
    return content_type


def _fetch(field: str, url: str) -> tuple[bytes, str, str]:
    """(content, content_type, filename) of a URL, within the limits."""
    with outbound.session() as session:
        return _fetch_with(session, field, url)


def _fetch_with(session, field: str, url: str) -> tuple[bytes, str, str]:
    limit = settings.HITL_ATTACHMENT_MAX_BYTES
    for _ in range(MAX_REDIRECTS + 1):
        try:
            validate_callback_url(url, what=field, resolve=False)
        except CallbackURLError as exc:
            raise ApiError(400, "invalid_attachment_url", str(exc)) from None
        try:
            response = session.get(
                url, stream=True, allow_redirects=False, timeout=settings.HITL_ATTACHMENT_FETCH_TIMEOUT
            )
        except requests.ReadTimeout:
            raise ApiError(
                422, "attachment_fetch_failed", f"{field}: the URL did not answer in time."
            ) from None
        except requests.RequestException:
            # A refused address, an unknown name and a closed port read the same (no network map).
            raise ApiError(
                422, "attachment_fetch_failed", f"{field}: could not connect to the URL's host."
            ) from None
        with response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code != 200:
                raise ApiError(
                    422, "attachment_fetch_failed", f"{field}: the URL answered HTTP {response.status_code}."
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise _too_large(field, f" (Content-Length {declared})")
            content_type = _check_type(field, response.headers.get("Content-Type", ""))
            body = bytearray()
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > limit:
                    raise _too_large(field)
            name = posixpath.basename(urlsplit(url).path) or "attachment"
            return bytes(body), content_type, name
    raise ApiError(422, "attachment_fetch_failed", f"{field}: more than {MAX_REDIRECTS} redirects.")


def _with_extension(name: str, content_type: str) -> str:
    if "." not in name:
        name += mimetypes.guess_extension(content_type) or ""
    return name[:200]


def load(attachments: list[dict]) -> list[dict]:
    """Check every attachment before uploading any: [{name, content_type, content}]."""
    loaded, total = [], 0
    for index, item in enumerate(attachments):
        field = f"attachments[{index}]"
        if item.get("url"):
            content, content_type, name = _fetch(f"{field}.url", item["url"])
            name = item.get("filename") or name
        else:
            content = item["content"]
            content_type = _check_type(f"{field}.content_type", item["content_type"])
            name = item["filename"]
            if len(content) > settings.HITL_ATTACHMENT_MAX_BYTES:
                raise _too_large(f"{field}.content_base64")
        if not content:
            raise ApiError(400, "invalid_request", f"{field}: the file is empty.")
        total += len(content)
        if total > settings.HITL_ATTACHMENT_MAX_TOTAL_BYTES:
            raise ApiError(
                413,
                "attachment_too_large",
                f"attachments: together larger than {settings.HITL_ATTACHMENT_MAX_TOTAL_BYTES} bytes.",
            )
        loaded.append(
            {"name": _with_extension(name, content_type), "content_type": content_type, "content": content}
        )
    return loaded


def upload(connection, loaded: list[dict]) -> list[dict]:
    """Upload to HubSpot; returns what the message row stores (no bytes)."""
    client = HubSpotClient.for_connection(connection)
    stored = []
    for item in loaded:
        try:
            file = client.upload_file(
                item["content"], item["name"], content_type=item["content_type"], folder_path=FOLDER_PATH
            )
        except RETRYABLE_ERRORS as exc:
            raise ApiError(
                503, "hubspot_unavailable", f"HubSpot did not take the attachment now ({exc}); retry later."
            ) from None
        except HubSpotError as exc:
            raise ApiError(
                502, "attachment_upload_failed", f"HubSpot refused the attachment: {exc}"
            ) from None
        stored.append(
            {
                "name": item["name"],
                "content_type": item["content_type"],
                "size": len(item["content"]),
                "hubspot_file_id": str(file["id"]),
                "url": file.get("url", ""),
            }
        )
    return stored
