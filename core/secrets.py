"""A string type for decrypted secrets that does not show itself by accident.

`str(secret)` and formatting give the real value (the HTTP client needs it), but `repr()` is masked,
so a secret held in a local variable, a model's `__dict__` or a data structure is not written out by
tracebacks, debug pages or `logger.debug("%r", ...)`. The logging filter also masks any SecretStr
passed as a log argument.
"""

MASK = "[REDACTED]"


class SecretStr(str):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"SecretStr({MASK!r})"

    def reveal(self) -> str:
        """The plain value, where passing it on is intended (e.g. into a request)."""
        return str.__str__(self)
