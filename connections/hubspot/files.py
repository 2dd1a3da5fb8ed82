"""Files API: upload an attachment (multipart) and get a signed URL to fetch it (contract §8).

Upload is `multipart/form-data` with text parts `fileName`, `folderPath` (or `folderId`; one is
required), `options` (a JSON *string*, FileUploadOptions) and the `file` part. The returned `id` is
what a message's `FILE` attachment names as `fileId`.

An upload creates a file, so the transport does not replay it after an ambiguous failure
(transport.py); `duplicate_validation_strategy="RETURN_EXISTING"` lets a task re-run it safely.
"""

from __future__ import annotations

import json
from typing import Any

ACCESS_LEVELS = (
    "PUBLIC_INDEXABLE",
    "PUBLIC_NOT_INDEXABLE",
    "HIDDEN_INDEXABLE",
    "HIDDEN_NOT_INDEXABLE",
    "HIDDEN_PRIVATE",
    "PRIVATE",
    "HIDDEN_SENSITIVE",
    "SENSITIVE",
)
DEFAULT_FOLDER_PATH = "/conversations/hitl-portal"


class FilesAPI:
    def upload_file(
        self,
        content: bytes,
        file_name: str,
        *,
        content_type: str = "application/octet-stream",
        folder_path: str | None = DEFAULT_FOLDER_PATH,
        folder_id: str | None = None,
        access: str = "PRIVATE",
        duplicate_validation_strategy: str | None = None,
        overwrite: bool | None = None,
    ) -> dict[str, Any]:
        """Upload bytes; returns HubSpot's `File` (id, url, size...). Private by default: the inbox
        shows it to agents through signed URLs, and nobody else should be able to guess it."""
        if access not in ACCESS_LEVELS:
            raise ValueError(f"access must be one of {ACCESS_LEVELS}")
        if not folder_path and not folder_id:
            raise ValueError("HubSpot needs folder_path or folder_id")
        options: dict[str, Any] = {"access": access}
        if duplicate_validation_strategy:
            options["duplicateValidationStrategy"] = duplicate_validation_strategy
        if overwrite is not None:
            options["overwrite"] = overwrite
        data = {"fileName": file_name, "options": json.dumps(options)}
        if folder_id:
            data["folderId"] = str(folder_id)
        else:
            data["folderPath"] = folder_path
        # Bytes, not a stream: a retried request must be able to send the body again.
        files = {"file": (file_name, bytes(content), content_type)}
        return self._call("files.upload", data=data, files=files)

    def get_file(self, file_id: int | str) -> dict[str, Any]:
        return self._call("files.get", path_params={"fileId": file_id})

    def get_signed_url(
        self,
        file_id: int | str,
        *,
        size: str | None = None,
        expiration_seconds: int | None = None,
        upscale: bool | None = None,
    ) -> dict[str, Any]:
        """`SignedURL` {url, expiresAt, ...}: a temporary download link for a private file."""
        params = {"size": size, "expirationSeconds": expiration_seconds, "upscale": upscale}
        return self._call("files.signed_url", path_params={"fileId": file_id}, params=params)
