"""Request-body checks shared by the API views, failing the way HubSpot fails (400, field named)."""

from __future__ import annotations

from sandbox.api.errors import ApiError, missing_fields, validation_error

DELIVERY_IDENTIFIER_TYPES = (
    "HS_EMAIL_ADDRESS",
    "HS_PHONE_NUMBER",
    "HS_SHORT_CODE",
    "CHANNEL_SPECIFIC_OPAQUE_ID",
)
# Types a channel may declare in capabilities.deliveryIdentifierTypes (contract §5.1).
CHANNEL_IDENTIFIER_TYPES = ("HS_EMAIL_ADDRESS", "HS_PHONE_NUMBER", "CHANNEL_SPECIFIC_OPAQUE_ID")
THREADING_MODELS = ("INTEGRATION_THREAD_ID", "DELIVERY_IDENTIFIER")
RICH_TEXT_OPTIONS = ("HYPERLINK", "TEXT_ALIGNMENT", "BLOCKQUOTE", "BOLD", "ITALIC", "LISTS")


def require(data: dict, model: str, *names: str) -> None:
    """400 naming every required attribute that is absent or null."""
    missing = [name for name in names if data.get(name) is None]
    if missing:
        raise missing_fields(model, missing)


def string(data: dict, name: str, *, required: bool = False, allow_empty: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise missing_fields("request", [name])
        return None
    if not isinstance(value, str):
        raise validation_error(f"{name} must be a string", field=name)
    if not allow_empty and not value.strip():
        raise validation_error(f"{name} must not be empty", field=name)
    return value


def boolean(data: dict, name: str) -> bool | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise validation_error(f"{name} must be a boolean", field=name)
    return value


def integer_id(value, name: str) -> int:
    """Ids are strings in JSON and ints in HubSpot's storage; accept either, reject anything else."""
    if isinstance(value, bool):
        raise validation_error(f"{name} must be a numeric id", field=name)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return int(value)
    raise validation_error(f"{name} must be a numeric id, got {value!r}", field=name)


def one_of(value, allowed: tuple[str, ...], name: str, type_name: str) -> str:
    if value not in allowed:
        raise validation_error(
            f"Invalid input JSON: Cannot deserialize value of type `{type_name}` from String {value!r}: "
            f"not one of the values accepted for Enum class: [{', '.join(allowed)}]",
            field=name,
            code="INVALID_ENUM",
        )
    return value


def delivery_identifier(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise validation_error(f"{name} must be an object with type and value", field=name)
    missing = [k for k in ("type", "value") if value.get(k) in (None, "")]
    if missing:
        raise missing_fields("PublicDeliveryIdentifier", [f"{name}.{k}" for k in missing])
    one_of(value["type"], DELIVERY_IDENTIFIER_TYPES, f"{name}.type", "DeliveryIdentifierType")
    if not isinstance(value["value"], str):
        raise validation_error(f"{name}.value must be a string", field=f"{name}.value")
    return {"type": value["type"], "value": value["value"]}


def url(data: dict, name: str) -> str | None:
    value = string(data, name)
    if value and not value.startswith(("http://", "https://")):
        raise validation_error(f"{name} must be an http(s) URL", field=name)
    return value


def capabilities(value) -> dict:
    """HubSpot validates capability values server-side; answer with its error and subCategory."""
    if not isinstance(value, dict):
        raise validation_error("capabilities must be an object", field="capabilities")
    bad: list[str] = []
    types = value.get("deliveryIdentifierTypes")
    if types is not None and (
        not isinstance(types, list) or any(t not in CHANNEL_IDENTIFIER_TYPES for t in types)
    ):
        bad.append(f"deliveryIdentifierTypes={types!r}")
    threading = value.get("threadingModel")
    if threading is not None and threading not in THREADING_MODELS:
        bad.append(f"threadingModel={threading!r}")
    rich = value.get("richText")
    if rich is not None and (not isinstance(rich, list) or any(r not in RICH_TEXT_OPTIONS for r in rich)):
        bad.append(f"richText={rich!r}")
    for key in ("allowInlineImages", "allowOutgoingMessages", "allowConversationStart"):
        if key in value and not isinstance(value[key], bool):
            bad.append(f"{key}={value[key]!r}")
    for key in ("maxFileAttachmentCount", "maxFileAttachmentSizeBytes", "maxTotalFileAttachmentSizeBytes"):
        if key in value and (not isinstance(value[key], int) or isinstance(value[key], bool)):
            bad.append(f"{key}={value[key]!r}")
    if bad:
        raise ApiError(
            400,
            f"One or more Channel Capabilities specified had invalid values: {', '.join(bad)}",
            "VALIDATION_ERROR",
            subCategory="CustomChannelsError.INVALID_CHANNEL_CAPABILITY_VALUES",
            context={"capabilityKeysAndValues": bad},
            errors=[{"message": item, "in": "capabilities"} for item in bad],
        )
    return value
