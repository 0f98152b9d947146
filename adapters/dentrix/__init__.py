"""Dentrix, reached through the Ascend REST API (Apigee, OAuth2 client credentials, keyset paging)."""

from adapters.dentrix.adapter import DentrixAdapter
from adapters.dentrix.config import DentrixConfig

__all__ = ["DentrixAdapter", "DentrixConfig"]
