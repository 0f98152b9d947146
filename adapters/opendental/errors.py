"""Open Dental failures translated to the one error tree of :mod:`adapters.errors`.

Open Dental answers a failure with its HTTP status and a plain-text explanation (``PatNum is invalid.``):
400 (a bad request: never retried), 401 (the developer or customer key refused), 404 (with an explanation),
429 with ``Retry-After``, 500, and 504 when the office did not answer within 60 seconds. There is no error
code to refine the status, so the status decides by the shared rule of
:class:`adapters.http.errors.VendorErrors` (a 504 stays retryable; on a write the client marks it
``outcome_unknown``, since the office may have applied it). The explanation is never copied into a message:
it may echo the rejected input, which can be patient data.
"""

from __future__ import annotations

from typing import Any

from adapters.errors import PMSError
from adapters.http.errors import VendorErrors

__all__ = ["OPEN_DENTAL_ERRORS", "vendor_error_code"]

_NO_CODES: dict[str, type[PMSError]] = {}


def vendor_error_code(body: Any) -> str | None:
    """Open Dental's error bodies are plain text: there is never a vendor code to read."""
    return None


OPEN_DENTAL_ERRORS = VendorErrors(label="Open Dental", code_of=vendor_error_code, types=_NO_CODES)
"""The HTTP layer's error mapper for Open Dental."""
