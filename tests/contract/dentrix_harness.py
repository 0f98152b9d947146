"""Moved into the vendor folder: :mod:`adapters.dentrix.sandbox.harness` (a re-export for older imports)."""

from adapters.dentrix.sandbox.harness import DentrixHarness

__all__ = ["DentrixHarness"]
