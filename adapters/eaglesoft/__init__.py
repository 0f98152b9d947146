"""Eaglesoft (Patterson), reached through its on-prem API: session auth, offset paging, office-local naive
times, asynchronous writes."""

from adapters.eaglesoft.adapter import EaglesoftAdapter
from adapters.eaglesoft.config import EaglesoftConfig
from adapters.eaglesoft.sandbox.command import serve_eaglesoft
from adapters.eaglesoft.sandbox.harness import EaglesoftHarness
from adapters.vendor import Vendor

VENDOR = Vendor(
    kind=EaglesoftAdapter.kind,
    config=EaglesoftConfig,
    adapter=EaglesoftAdapter,
    sandbox=serve_eaglesoft,
    harness=EaglesoftHarness,
)

__all__ = ["VENDOR", "EaglesoftAdapter", "EaglesoftConfig"]
