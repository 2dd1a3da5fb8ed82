"""The response's Content-Security-Policy nonce in templates.

`csp_nonce` is the name Django's own CSP support (6.0) and admin themes such as django-unfold read;
`CSP_NONCE` is django-csp's. Both are the same lazy value: the nonce enters the header only on
responses whose template used it.
"""

from __future__ import annotations


def nonce(request) -> dict[str, object]:
    value = getattr(request, "csp_nonce", "")
    return {"csp_nonce": value, "CSP_NONCE": value}
