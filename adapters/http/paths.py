"""Request paths from route templates: an id sent to a PMS is data, never route.

``path("/patients/{id}", id="a/b")`` is ``"/patients/a%2Fb"``. Every value is percent-encoded whole
(``quote(value, safe="")``, so ``/ ? # %`` and spaces too): it cannot add a segment, start a query or a
fragment, or smuggle an escape of its own. A value made only of dots is encoded as ``%2E…`` as well, because
httpx removes dot segments before sending (``/patients/.`` goes out as ``/patients``, a listing) and servers
and proxies may do the same; ``%2E`` reaches the PMS as the id it is, which the PMS can only fail to find.

The template itself is the route label of spans, logs and messages, so it never holds an id or a query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter
from typing import Any
from urllib.parse import quote

import httpx

from adapters.errors import ValidationFailed

__all__ = ["path", "request_url"]


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


def request_url(base: httpx.URL, sent: str, params: Mapping[str, Any] | None) -> httpx.URL:
    """The URL httpx builds from a client's ``base`` (ending in ``/``), a path and query parameters.

    ``build_request(path, params=...)`` parses it three times (the path, the join, the query), each parse a
    character-by-character pass costing about a tenth of a request's CPU. A path made only of characters
    a URL path may hold as they are (what :func:`path` makes of a route and its ids) and a query as
    :class:`httpx.QueryParams` encodes it need no parse at all: they are put into ``base``'s parts as they
    are. Anything else (a prefix or route with a space, say) goes through httpx's own parse, so the URL is
    httpx's either way (``tests/unit/http/test_paths.py`` holds the two side by side).
    """
    path_part = base.raw_path.decode("ascii") + sent.lstrip("/")
    query = str(httpx.QueryParams(params)) if params is not None else ""
    parts = getattr(base, "_uri_reference", None)
    # A dot segment ("/./", "/../") is one httpx would remove: its parse decides.
    if "/." in path_part or _ENCODED_PATH.fullmatch(path_part) is None or not isinstance(parts, tuple):
        raw = path_part.encode("ascii")
        return base.copy_with(raw_path=raw + b"?" + query.encode("ascii") if query else raw)
    url = httpx.URL.__new__(httpx.URL)
    # httpx keeps a URL as its parsed parts (a named tuple); these parts are the ones its parse would give.
    url._uri_reference = parts._replace(path=path_part, query=query or None, fragment=None)  # type: ignore[attr-defined]
    return url


# RFC 3986 pchar and "/": unreserved, sub-delims, ":" and "@", and percent-escapes, as httpx leaves them.
_ENCODED_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
