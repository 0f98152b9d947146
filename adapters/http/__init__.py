"""The HTTP layer every PMS adapter shares: pooled client, in-call retry policy, token cache, rate limits,
static-data cache and error mapping. Vendor-neutral: vendors plug in a token source, an auth header and an
error mapper."""

from __future__ import annotations

from adapters.http.auth import Token, TokenCache, TokenSource
from adapters.http.cache import StaticCache
from adapters.http.client import PMSHttpClient, bearer_auth
from adapters.http.errors import (
    ErrorMapper,
    default_error_mapper,
    map_response,
    map_transport_errors,
    parse_retry_after,
)
from adapters.http.ratelimit import PracticeRateLimiter, RateLimits
from adapters.http.retry import RetryPolicy, next_delay, should_retry

__all__ = [
    "ErrorMapper",
    "PMSHttpClient",
    "PracticeRateLimiter",
    "RateLimits",
    "RetryPolicy",
    "StaticCache",
    "Token",
    "TokenCache",
    "TokenSource",
    "bearer_auth",
    "default_error_mapper",
    "map_response",
    "map_transport_errors",
    "next_delay",
    "parse_retry_after",
    "should_retry",
]
