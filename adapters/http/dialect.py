"""How one vendor speaks HTTP, apart from its records: what :class:`adapters.http.adapter.HttpAdapter` needs
to call it. The records themselves (field names, statuses, times) are the vendor's ``mapping.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.http.client import bearer_auth
from adapters.http.errors import VendorErrors
from adapters.http.paging import Paging

__all__ = ["HttpDialect"]


@dataclass(frozen=True)
class HttpDialect:
    """``label`` names the vendor in messages; ``path_prefix`` goes before every route when sent (never into
    a route label); ``auth_header`` turns a token into headers. ``record_key``: single records may come
    wrapped as ``{record_key: {...}}`` (or bare); ``id_keys``: where a record's id sits, to name it in a
    message about the record."""

    label: str
    path_prefix: str
    errors: VendorErrors
    paging: Paging
    auth_header: Callable[[str], dict[str, str]] = bearer_auth
    record_key: str | None = None
    id_keys: tuple[str, ...] = ("id",)
