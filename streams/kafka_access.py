"""Whether this process can reach and log into the cluster, and when not, which setting to fix.

librdkafka never fails a request because the broker refused our credentials or our certificate: it reports
that through the error callback and keeps retrying, so a metadata request with a 30 s timeout waits 30 s and
then says only "transport failure". Here the wait is cut into short slices with the error callback served
between them: a refusal ends it at once with :class:`KafkaAccessError`, whose message names the variable to
fix (:func:`diagnose`, pure). A cluster that merely does not answer ends it at the deadline.

Used by every command-line entry point before it does any work (:func:`check_access`), and by the platform
client's start-up (:func:`list_topics` with its own consumer).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from streams.kafka_settings import KafkaSettings

__all__ = ["AccessWatch", "KafkaAccessError", "check_access", "diagnose", "list_topics"]

# librdkafka repeats every failed connection attempt; the one diagnosis below says it all.
_QUIET = logging.getLogger("streams.kafka_access.librdkafka")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())

_SLICE = 1.0


class KafkaAccessError(Exception):
    """The cluster refused us or did not answer. ``setting`` is the variable to look at first."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


def diagnose(code: int, text: str, settings: KafkaSettings) -> KafkaAccessError | None:
    """What a librdkafka error means for the settings, when it is a refusal that retrying cannot fix."""
    if code in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
        return KafkaAccessError(
            f"Kafka refused the SASL credentials of KAFKA_SASL_USERNAME={settings.sasl_username} "
            f"({settings.sasl_mechanism.value}): check KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) "
            "and KAFKA_SASL_MECHANISM",
            "KAFKA_SASL_PASSWORD",
        )
    lowered = text.lower()
    if "certificate verify failed" in lowered or "could not be verified" in lowered:
        trusted = settings.ssl_ca_file or "the system's CA store"
        hint = " (or set KAFKA_SSL_CHECK_HOSTNAME=false)" if "hostname" in lowered else ""
        return KafkaAccessError(
            f"the broker's TLS certificate is not signed by a CA in KAFKA_SSL_CA_FILE ({trusted}){hint}",
            "KAFKA_SSL_CA_FILE",
        )
    if "alert bad certificate" in lowered or "certificate required" in lowered:
        given = settings.ssl_cert_file or "none"
        return KafkaAccessError(
            f"the broker refused our TLS client certificate: check KAFKA_SSL_CERT_FILE ({given}) "
            "and KAFKA_SSL_KEY_FILE",
            "KAFKA_SSL_CERT_FILE",
        )
    if code == KafkaError._SSL:
        return KafkaAccessError(
            f"the TLS handshake with the broker failed: check KAFKA_SSL_CA_FILE and KAFKA_SECURITY_PROTOCOL "
            f"({settings.security_protocol.value}) ({text})",
            "KAFKA_SSL_CA_FILE",
        )
    return None


def unreachable(settings: KafkaSettings, seconds: float, last: str | None) -> KafkaAccessError:
    seen = f"; last error: {last}" if last else ""
    return KafkaAccessError(
        f"no answer from Kafka at KAFKA_BOOTSTRAP_SERVERS={settings.bootstrap_servers} within {seconds:g}s: "
        f"check the address, and that the listener speaks "
        f"KAFKA_SECURITY_PROTOCOL={settings.security_protocol.value}{seen}",
        "KAFKA_BOOTSTRAP_SERVERS",
    )


class AccessWatch:
    """An ``error_cb`` for confluent-kafka clients that keeps the first refusal it is told of."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self.refusal: KafkaAccessError | None = None
        self.last: str | None = None
        self._lock = threading.Lock()

    def __call__(self, error: KafkaError) -> None:
        found = diagnose(error.code(), error.str(), self.settings)
        with self._lock:
            self.last = error.str()
            if found is not None and self.refusal is None:
                self.refusal = found


def list_topics(client: Any, watch: AccessWatch, topic: str | None = None, timeout: float = 15.0) -> Any:
    """``client.list_topics`` that ends as soon as ``watch`` hears of a refusal (the client must have been
    made with ``error_cb=watch``). Raises :class:`KafkaAccessError`."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            return client.list_topics(topic, timeout=max(min(_SLICE, remaining), 0.05))
        except KafkaException as exc:
            client.poll(0)  # serves the error callback
            if watch.refusal is not None:
                raise watch.refusal from exc
            if time.monotonic() >= deadline:
                raise unreachable(watch.settings, timeout, watch.last) from exc


def check_access(settings: KafkaSettings, timeout: float = 15.0) -> None:
    """Return once the cluster answers a metadata request with these settings; raise
    :class:`KafkaAccessError` on a refusal (at once) or no answer (after ``timeout`` seconds)."""
    watch = AccessWatch(settings)
    admin = AdminClient(settings.confluent(error_cb=watch, logger=_QUIET))
    try:
        list_topics(admin, watch, timeout=timeout)
    finally:
        admin.poll(0)
