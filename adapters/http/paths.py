"""Request paths from route templates: an id sent to a PMS is data, never route.

``path("/patients/{id}", id="a/b")`` is ``"/patients/a%2Fb"``. Every value is percent-encoded whole
(``quote(value, safe="")``, so ``/ ? # %`` and spaces too): it cannot add a segment, start a query or a
fragment, or smuggle an escape of its own. A value made only of dots is encoded as ``%2E…`` as well, because
httpx removes dot segments before sending (``/patients/.`` goes out as ``/patients``, a listing) and servers
and proxies may do the same; ``%2E`` reaches the PMS as the id it is, which the PMS can only fail to find.

The template itself is the route label of spans, logs and messages, so it never holds an id or a query.
"""

from __future__ import annotations

from string import Formatter
from urllib.parse import quote

from adapters.errors import ValidationFailed

__all__ = ["path"]


def path(template: str, **params: str) -> str:
    """``template`` with each ``{name}`` replaced by ``params[name]`` as one percent-encoded path segment.

    An empty value is the caller's :class:`~adapters.errors.ValidationFailed`. A template that takes other
    names than ``params``, or carries a query or fragment, is a programming error (:class:`ValueError`).
    """
    names = {field for _, field, _, _ in Formatter().parse(template) if field is not None}
    if names != params.keys():
        raise ValueError(f"route {template} takes {sorted(names)}, given {sorted(params)}")
    if "?" in template or "#" in template:
        raise ValueError(f"route {template}: a query goes in params, never in the route")
    return template.format_map({name: _segment(name, value) for name, value in params.items()})


def _segment(name: str, value: str) -> str:
    if not value:
        raise ValidationFailed(f"{name}: an id must not be empty")
    quoted = quote(value, safe="")
    if not quoted.strip("."):
        return "%2E" * len(quoted)
    return quoted
