"""Dentrix, reached through the Ascend REST API (Apigee, OAuth2 client credentials, keyset paging)."""

from adapters.dentrix.adapter import DentrixAdapter
from adapters.dentrix.config import DentrixConfig
from adapters.dentrix.sandbox.command import serve_dentrix
from adapters.dentrix.sandbox.harness import DentrixHarness
from adapters.vendor import Vendor

VENDOR = Vendor(
    kind=DentrixAdapter.kind,
    config=DentrixConfig,
    adapter=DentrixAdapter,
    sandbox=serve_dentrix,
    harness=DentrixHarness,
)

__all__ = ["VENDOR", "DentrixAdapter", "DentrixConfig"]
