"""A tracing UI that runs here: Zipkin's server from Maven Central, in memory, on loopback (see README "Traces")."""

from ops.zipkin.jar import ZIPKIN_VERSION, fetch_zipkin, zipkin_cache
from ops.zipkin.server import ZipkinFailed, ZipkinServer, spans_endpoint, trace_url

__all__ = [
    "ZIPKIN_VERSION",
    "ZipkinFailed",
    "ZipkinServer",
    "fetch_zipkin",
    "spans_endpoint",
    "trace_url",
    "zipkin_cache",
]
