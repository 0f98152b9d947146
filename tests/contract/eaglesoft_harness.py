"""Moved into the vendor folder: :mod:`adapters.eaglesoft.sandbox.harness` (a re-export for older imports)."""

from adapters.eaglesoft.sandbox.harness import EaglesoftHarness

__all__ = ["EaglesoftHarness"]
