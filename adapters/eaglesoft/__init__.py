"""Eaglesoft (Patterson), reached through its on-prem API: session auth, offset paging, office-local naive
times, asynchronous writes."""

from adapters.eaglesoft.adapter import EaglesoftAdapter
from adapters.eaglesoft.config import EaglesoftConfig

__all__ = ["EaglesoftAdapter", "EaglesoftConfig"]
