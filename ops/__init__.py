"""Operator tooling beside the relay: the cluster dashboard and the local tracing UI (Zipkin)."""

__all__: list[str] = []
