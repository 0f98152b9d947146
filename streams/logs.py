"""Logging for the worker: structured ``key=value`` lines, and no library logger that could leak patient data."""

from __future__ import annotations

import logging

__all__ = ["configure_logging"]

# httpx logs every request's full URL at INFO, query string included, and a search query can carry a name.
_QUIET = ("httpx", "httpcore", "aiokafka", "faust.transport", "uvicorn.access")


def configure_logging(level: str = "info") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
