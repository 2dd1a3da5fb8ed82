"""Log record filter that redacts secrets, and a JSON formatter for structured logs.

Redaction is the last line of defence: code should not log secrets in the first place, but a URL
with `?hapikey=`, a token response or an `Authorization` header can reach a log through a library
or an exception message. The filter rewrites the record's message in place, so every handler and
formatter downstream sees the redacted text only.
"""

import contextlib
import json
import logging
import logging.config
import re
from datetime import UTC, datetime

from core.secrets import MASK, SecretStr

_SECRET_NAMES = (
    r"hapikey|api[_-]?key|developer[_-]?api[_-]?key|access[_-]?token|refresh[_-]?token|"
    r"client[_-]?secret|callback[_-]?secret|secret|password|token|code_verifier|authorization"
)
_PATTERNS = [
    # key=value in query strings and form bodies: ?hapikey=abc&x=1
    re.compile(rf"(?i)\b({_SECRET_NAMES})=([^&\s\"',;]+)"),
    # OAuth's code and state, only as query parameters (the words are too common elsewhere).
    re.compile(r"(?i)([?&](?:code|state)=)([^&\s\"',;#]+)"),
    # JSON / dict style: "access_token": "abc" or 'refresh_token': 'abc'
    re.compile(rf"(?i)([\"']?(?:{_SECRET_NAMES})[\"']?\s*:\s*[\"'])([^\"']+)"),
    # HTTP headers: Authorization: Bearer abc / X-Api-Key: abc
    re.compile(r"(?i)\b(bearer)\s+([A-Za-z0-9._~+/=-]+)"),
    re.compile(r"(?i)\b(x-hubspot-signature(?:-v\d)?[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9+/=]+)"),
]
# Every pattern above needs one of these words to match, so text without any of them (most log
# text: gunicorn's ~30 access-line atoms per request, each a separate string) is returned after
# one search instead of five substitutions. Same flags and spellings as the patterns, so it
# matches wherever one of them could.
_ANY_SECRET_WORD = re.compile(rf"(?i){_SECRET_NAMES}|code|state|bearer|x-hubspot-signature")


def redact(text: str) -> str:
    if not _ANY_SECRET_WORD.search(text):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: _keep_name(m), text)
    return text


def _keep_name(match: re.Match) -> str:
    name = match.group(1)
    whole = match.group(0)
    # Rebuild "name<separator>MASK" keeping whatever separator the original used.
    separator = whole[len(name) : len(whole) - len(match.group(2))]
    return f"{name}{separator}{MASK}"


def _mask_arg(arg):
    if isinstance(arg, SecretStr):
        return MASK
    if isinstance(arg, str):
        return redact(arg)
    return arg


def _mask_extra(value):
    """A structured log field: text redacted; anything else (a request object, whose text is its
    full path with the query string) becomes redacted text unless it is a plain JSON value."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str | SecretStr):
        return _mask_arg(value)
    if isinstance(value, dict | list | tuple):
        with contextlib.suppress(TypeError, ValueError):
            return json.loads(redact(json.dumps(value, default=str)))
    return redact(str(value))


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to break further
            return True
        if isinstance(record.args, dict):
            masked_args = {k: _mask_arg(v) for k, v in record.args.items()}
        elif record.args:
            masked_args = tuple(_mask_arg(a) for a in record.args)
        else:
            masked_args = None
        if masked_args is not None:
            # Re-render from the masked arguments; if that fails the redacted original stands.
            with contextlib.suppress(Exception):
                message = str(record.msg) % masked_args
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, milliseconds), level, logger, process id, message, and
    any `extra=` fields. Used by the app, gunicorn's access and error logs, and Celery's worker and
    beat, so one log pipeline parses every process."""

    _RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._RESERVED and not key.startswith("_"):
                payload[key] = _mask_extra(value)
        if record.exc_info or record.exc_text:
            payload["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class GunicornAccessFields(logging.Filter):
    """Copies the fields of gunicorn's access record (its atoms) onto the record, so the JSON line
    carries them as keys a log pipeline can query: method, path (never the query string), status,
    bytes, duration_ms, remote_addr, user_agent, and request_id (the X-Request-ID the app answered,
    the key the app's own records carry). Runs before the redaction filter."""

    ATOMS = {
        "m": "method",
        "U": "path",
        "h": "remote_addr",
        "a": "user_agent",
        "{x-request-id}o": "request_id",
    }
    NUMBERS = {"s": "status", "B": "bytes", "M": "duration_ms"}

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        for atom, name in self.ATOMS.items():
            if atom in atoms:
                setattr(record, name, atoms[atom])
        for atom, name in self.NUMBERS.items():
            value = str(atoms.get(atom, ""))
            if value.isdigit():
                setattr(record, name, int(value))
        return True


class AxesSuccessAtDebug(logging.Filter):
    """django-axes logs a successful sign-in or sign-out, and the clean-up queries that follow, at
    INFO: four lines per sign-in. They become DEBUG records (dropped unless the logger is at DEBUG);
    failures and lock-outs keep their level."""

    ROUTINE = (
        "AXES: Successful login",
        "AXES: Successful logout",
        "AXES: Cleaned up",
        "AXES: Reset ",
        "AXES: Deleted ",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and str(record.msg).startswith(self.ROUTINE):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def configure(config: dict) -> None:
    """LOGGING_CONFIG of every profile, and Celery's: the dict, plus Python warnings (a library's
    deprecation, whitenoise's missing directory) as log records, so they too come out formatted
    (JSON in production) and redacted instead of as raw lines on stderr."""
    logging.captureWarnings(True)
    logging.config.dictConfig(config)


def gunicorn_logconfig(fmt: str, level: str) -> dict:
    """gunicorn's `logconfig_dict`: its error log (stderr) and access log (stdout) through the same
    redaction filter and formatter (`fmt`: "json" or "text") as the app's records."""
    handler = {"class": "logging.StreamHandler", "formatter": fmt, "filters": ["redact_secrets"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact_secrets": {"()": "core.logging.RedactSecretsFilter"},
            "access_fields": {"()": "core.logging.GunicornAccessFields"},
        },
        "formatters": {
            "text": {"format": "%(asctime)s [%(process)d] %(levelname)s %(name)s %(message)s"},
            "json": {"()": "core.logging.JsonFormatter"},
        },
        "handlers": {
            "access_console": {
                **handler,
                "filters": ["access_fields", "redact_secrets"],
                "stream": "ext://sys.stdout",
            },
            "error_console": {**handler, "stream": "ext://sys.stderr"},
        },
        "root": {"level": level.upper(), "handlers": ["error_console"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access_console"], "propagate": False},
        },
    }
