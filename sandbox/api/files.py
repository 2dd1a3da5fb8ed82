"""Files API: multipart upload, get, signed URL (contract §8), and the download URL files point at.

Downloads need no credentials, like HubSpot's CDN URLs; the path carries an HMAC of the file id
(`serializers.file_token`) so ids cannot be enumerated. Signed URLs add an expiry and a second HMAC.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from django.http import HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import content_disposition_header

from sandbox.api import auth
from sandbox.api.endpoint import endpoint, ok, route
from sandbox.api.errors import ApiError, not_found, validation_error
from sandbox.models import SandboxFile
from sandbox.serializers import file_json, file_token, file_type, file_url, iso

SCOPES = ("files",)
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
MAX_BYTES = 20 * 1024 * 1024  # a sandbox keeps bytes in the database; HubSpot allows far more
SIGNED_URL_DEFAULT_SECONDS = 3600


def _options(raw: str | None) -> dict:
    if not raw:
        raise validation_error("options is required and must include access", field="options")
    try:
        options = json.loads(raw)
    except ValueError as exc:
        raise validation_error(f"options must be a JSON string: {exc}", field="options") from exc
    if not isinstance(options, dict):
        raise validation_error("options must be a JSON object", field="options")
    if options.get("access") not in ACCESS_LEVELS:
        raise validation_error(
            f"options.access must be one of {', '.join(ACCESS_LEVELS)}", field="options.access"
        )
    return options


@endpoint(auth_kind=auth.BEARER, scopes=SCOPES)
def upload(request):
    upload = request.FILES.get("file")
    if upload is None:
        raise validation_error("file is required (multipart/form-data part 'file')", field="file")
    folder_path = request.POST.get("folderPath", "")
    folder_id = request.POST.get("folderId", "")
    if not folder_path and not folder_id:
        raise validation_error("Either 'folderId' or 'folderPath' is required", field="folderPath")
    options = _options(request.POST.get("options"))
    if upload.size > MAX_BYTES:
        raise validation_error(f"File is larger than {MAX_BYTES} bytes", field="file")
    name = request.POST.get("fileName") or upload.name or "file"
    extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
    portal = request.caller.portal
    existing = SandboxFile.objects.filter(
        portal=portal, folder_path=folder_path or f"/{folder_id}", name=name
    )
    strategy = options.get("duplicateValidationStrategy", "NONE")
    if strategy == "RETURN_EXISTING" and existing.exists():
        return ok(file_json(existing.first()))
    if strategy == "REJECT" and existing.exists():
        raise ApiError(
            409, f"A file named {name} already exists", "CONFLICT", headers={"x-should-retry": "false"}
        )
    content = upload.read()
    file = SandboxFile.objects.create(
        portal=portal,
        name=name,
        extension=extension,
        content_type=upload.content_type or "application/octet-stream",
        content=content,
        size=len(content),
        access=options["access"],
        folder_path=folder_path or f"/{folder_id}",
    )
    return ok(file_json(file), status=201)


def portal_file(request, file_id: int) -> SandboxFile:
    file = SandboxFile.objects.filter(pk=file_id, portal=request.caller.portal).first()
    if file is None:
        raise not_found(f"File {file_id} not found", fileId=file_id)
    return file


@endpoint(auth_kind=auth.BEARER, scopes=SCOPES)
def get_file(request, file_id: int):
    return ok(file_json(portal_file(request, file_id)))


def _signature(file: SandboxFile, expires: int) -> str:
    return salted_hmac("sandbox.file-signed-url", f"{file.pk}:{expires}").hexdigest()[:32]


@endpoint(auth_kind=auth.BEARER, scopes=SCOPES)
def signed_url(request, file_id: int):
    file = portal_file(request, file_id)
    seconds = request.GET.get("expirationSeconds") or SIGNED_URL_DEFAULT_SECONDS
    try:
        seconds = int(seconds)
    except ValueError:
        raise validation_error("expirationSeconds must be an integer", field="expirationSeconds") from None
    expires = int(time.time()) + seconds
    expires_at = timezone.now() + timedelta(seconds=seconds)
    return ok(
        {
            "url": f"{file_url(file)}?expires={expires}&signature={_signature(file, expires)}",
            "expiresAt": iso(expires_at),
            "name": file.name.rsplit(".", 1)[0] if file.extension else file.name,
            "extension": file.extension,
            "type": file_type(file.extension, file.content_type),
            "size": file.size,
        }
    )


@endpoint(auth_kind=auth.NONE)
def download(request, file_id: int, token: str, name: str):
    """The bytes behind a file's `url`; a signed URL's expiry and signature are checked too."""
    file = SandboxFile.objects.filter(pk=file_id).first()
    if file is None or not constant_time_compare(token, file_token(file)):
        raise ApiError(404, "File not found", "OBJECT_NOT_FOUND")
    expires = request.GET.get("expires")
    if expires is not None:
        signature = request.GET.get("signature", "")
        valid = expires.isdigit() and constant_time_compare(signature, _signature(file, int(expires)))
        if not valid or int(expires) < time.time():
            raise ApiError(403, "Signed URL is invalid or expired", "INVALID_AUTHENTICATION")
    response = HttpResponse(bytes(file.content), content_type=file.content_type or "application/octet-stream")
    # Built by Django (RFC 6266 quoting, non-ASCII as filename*): a stored name with CR/LF or a quote
    # can neither split the header nor break out of it.
    response["Content-Disposition"] = content_disposition_header(False, file.name)
    return response


collection = route(POST=upload)
item = route(GET=get_file)
signed = route(GET=signed_url)
download_view = route(GET=download)
