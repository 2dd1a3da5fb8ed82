"""HubSpot message attachments as the bot receives them: files become URLs it can fetch.

A `FILE` attachment names a file in the portal's File Manager, private by default, so its `url`
(if HubSpot sends one) is not fetchable without a HubSpot login. We ask the Files API for a signed
URL (contract §8.2) and pass that on with the name, content type and size:

    {"type": "file", "name", "content_type", "size", "url", "expires_at", "hubspot_file_id"}

Other kinds (location, contact card, quick replies…) are passed through as
{"type": <kind in lower case>, "hubspot": <HubSpot's attachment>} so nothing is silently dropped.
A file HubSpot no longer has keeps its entry with `url: null` and an `error`; transient HubSpot
errors propagate, so the processing task retries.
"""

from __future__ import annotations

import mimetypes

from connections.hubspot import HubSpotError, HubSpotNotFound

# Long enough for a bot to download it after a retry or two; HubSpot caps signed URLs anyway.
SIGNED_URL_SECONDS = 24 * 3600


def fetchable_attachments(client, attachments: list[dict]) -> list[dict]:
    return [_one(client, a) for a in attachments if isinstance(a, dict)]


def _one(client, attachment: dict) -> dict:
    kind = str(attachment.get("type") or "").upper()
    if kind != "FILE" or not attachment.get("fileId"):
        return {"type": kind.lower() or "unknown", "hubspot": attachment}
    file_id = str(attachment["fileId"])
    try:
        signed = client.get_signed_url(file_id, expiration_seconds=SIGNED_URL_SECONDS)
    except HubSpotError as exc:
        if exc.retryable:
            raise
        if attachment.get("url"):
            return unsigned_attachment(attachment, file_id)
        if not isinstance(exc, HubSpotNotFound):
            raise
        return {
            "type": "file",
            "name": attachment.get("name") or "",
            "content_type": _content_type(attachment.get("name") or ""),
            "size": None,
            "url": None,
            "hubspot_file_id": file_id,
            "error": "HubSpot no longer has this file.",
        }
    name = attachment.get("name") or _name(signed) or f"file-{file_id}"
    return {
        "type": "file",
        "name": name,
        "content_type": _content_type(name, signed.get("extension")),
        "size": signed.get("size"),
        "url": signed.get("url"),
        "expires_at": signed.get("expiresAt"),
        "hubspot_file_id": file_id,
        "usage": attachment.get("fileUsageType") or "",
    }


def unsigned_attachment(attachment: dict, file_id: str) -> dict:
    """HubSpot would not sign the file (not found, or the token lacks `files`), but the webhook
    carried the attachment's own `url`: pass that on, as working integrations do, rather than
    nothing. It may need a HubSpot login to open; `signed: false` says so."""
    name = attachment.get("name") or f"file-{file_id}"
    return {
        "type": "file",
        "name": name,
        "content_type": _content_type(name),
        "size": None,
        "url": attachment["url"],
        "expires_at": None,
        "hubspot_file_id": file_id,
        "usage": attachment.get("fileUsageType") or "",
        "signed": False,
    }


def _name(signed: dict) -> str:
    name, extension = signed.get("name") or "", signed.get("extension") or ""
    if name and extension and not name.lower().endswith("." + extension.lower()):
        return f"{name}.{extension}"
    return name


def _content_type(name: str, extension: str | None = None) -> str:
    guess = mimetypes.guess_type(name)[0]
    if not guess and extension:
        guess = mimetypes.guess_type(f"x.{extension}")[0]
    return guess or "application/octet-stream"
