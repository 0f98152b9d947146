"""How every pms-relay process connects to Kafka: one typed, frozen, validated settings object, read from the
environment, and the configuration each client library wants from it.

=================================  ===============================================================================
variable                           meaning
=================================  ===============================================================================
``KAFKA_BOOTSTRAP_SERVERS``        ``host:port[,host:port…]`` (default ``localhost:9092``)
``KAFKA_SECURITY_PROTOCOL``        ``PLAINTEXT`` (default), ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``
``KAFKA_SASL_MECHANISM``           ``SCRAM-SHA-512`` (default), ``SCRAM-SHA-256`` or ``PLAIN``
``KAFKA_SASL_USERNAME``            required with a ``SASL_*`` protocol
``KAFKA_SASL_PASSWORD``            required with a ``SASL_*`` protocol, or ``KAFKA_SASL_PASSWORD_FILE`` (a mounted
                                   Secret; trailing newline dropped)
``KAFKA_SSL_CA_FILE``              PEM CA bundle that signed the brokers' certificates (default: the system's)
``KAFKA_SSL_CERT_FILE``            PEM client certificate, when the brokers require one (mutual TLS)
``KAFKA_SSL_KEY_FILE``             PEM private key of that certificate (with ``KAFKA_SSL_CERT_FILE``)
``KAFKA_SSL_KEY_PASSWORD``         the key's password, if it is encrypted
``KAFKA_SSL_CHECK_HOSTNAME``       ``true`` (default) or ``false``: whether the broker's name must match its cert
=================================  ===============================================================================

Secrets are :class:`pydantic.SecretStr`: they print as ``**********`` and reach a client library only inside
the dict or context handed to it. A variable under ``KAFKA_SECURITY_``, ``KAFKA_SASL_`` or ``KAFKA_SSL_`` that
is not in this table is an error (a typo there would silently connect without security).

The configurations: :meth:`KafkaSettings.confluent` (confluent-kafka / librdkafka: CLI, platform client,
tests), :meth:`KafkaSettings.faust_broker` + :meth:`KafkaSettings.faust_credentials` (the worker's Faust app
on aiokafka), :meth:`KafkaSettings.aiokafka` (a bare aiokafka client), :meth:`KafkaSettings.ssl_context`.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    FilePath,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "ENVIRONMENT",
    "KafkaSettings",
    "KafkaSettingsError",
    "SaslMechanism",
    "SecurityProtocol",
]


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"

    @property
    def uses_tls(self) -> bool:
        return self in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)

    @property
    def uses_sasl(self) -> bool:
        return self in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)


class SaslMechanism(StrEnum):
    SCRAM_SHA_512 = "SCRAM-SHA-512"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    PLAIN = "PLAIN"


# Field -> the environment variable that sets it. Errors name the variable, never the value.
ENVIRONMENT: Mapping[str, str] = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "sasl_username": "KAFKA_SASL_USERNAME",
    "sasl_password": "KAFKA_SASL_PASSWORD",
    "ssl_ca_file": "KAFKA_SSL_CA_FILE",
    "ssl_cert_file": "KAFKA_SSL_CERT_FILE",
    "ssl_key_file": "KAFKA_SSL_KEY_FILE",
    "ssl_key_password": "KAFKA_SSL_KEY_PASSWORD",
    "ssl_check_hostname": "KAFKA_SSL_CHECK_HOSTNAME",
}
_PASSWORD_FILE = "KAFKA_SASL_PASSWORD_FILE"
_GUARDED_PREFIXES = ("KAFKA_SECURITY_", "KAFKA_SASL_", "KAFKA_SSL_")


class KafkaSettingsError(ValueError):
    """The Kafka settings are invalid; the message names the environment variables to fix."""


class KafkaSettings(BaseModel):
    """Where the cluster is and how to prove who we are to it. Build with :meth:`from_env`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str = "localhost:9092"
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_file: FilePath | None = None
    ssl_cert_file: FilePath | None = None
    ssl_key_file: FilePath | None = None
    ssl_key_password: SecretStr | None = None
    ssl_check_hostname: bool = True

    # -- construction ------------------------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> KafkaSettings:
        """The settings the environment gives, with ``overrides`` (e.g. a ``--bootstrap-servers`` option) on
        top. Raises :class:`KafkaSettingsError` naming the variables at fault."""
        environ = os.environ if environ is None else environ
        _reject_unknown(environ)
        values: dict[str, Any] = {
            field: environ[variable] for field, variable in ENVIRONMENT.items() if environ.get(variable)
        }
        password_file = environ.get(_PASSWORD_FILE)
        if password_file:
            if "sasl_password" in values:
                raise KafkaSettingsError(f"set KAFKA_SASL_PASSWORD or {_PASSWORD_FILE}, not both")
            values["sasl_password"] = _read_secret(password_file)
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise KafkaSettingsError(_describe(exc)) from None

    @field_validator("bootstrap_servers")
    @classmethod
    def _check_servers(cls, value: str) -> str:
        servers = [part.strip() for part in value.split(",") if part.strip()]
        if not servers or any(not _is_address(server) for server in servers):
            raise ValueError("must be host:port[,host:port…]")
        return ",".join(servers)

    @field_validator("security_protocol", "sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_combination(self) -> KafkaSettings:
        protocol = f"KAFKA_SECURITY_PROTOCOL={self.security_protocol.value}"
        if self.security_protocol.uses_sasl:
            if not self.sasl_username:
                raise ValueError(f"KAFKA_SASL_USERNAME is required with {protocol}")
            if self.sasl_password is None or not self.sasl_password.get_secret_value():
                raise ValueError(f"KAFKA_SASL_PASSWORD (or {_PASSWORD_FILE}) is required with {protocol}")
        elif self.sasl_username or self.sasl_password is not None:
            raise ValueError(f"KAFKA_SASL_USERNAME/PASSWORD are set but {protocol} does not use SASL")
        tls_files = [self.ssl_ca_file, self.ssl_cert_file, self.ssl_key_file]
        if not self.security_protocol.uses_tls and any(path is not None for path in tls_files):
            raise ValueError(f"KAFKA_SSL_* files are set but {protocol} does not use TLS")
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together: set both or neither")
        if self.ssl_key_password is not None and self.ssl_key_file is None:
            raise ValueError("KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEY_FILE")
        return self

    # -- what each client wants --------------------------------------------------------------------------------

    @property
    def servers(self) -> list[str]:
        return self.bootstrap_servers.split(",")

    def confluent(self, **extra: Any) -> dict[str, Any]:
        """librdkafka properties for a confluent-kafka Producer, Consumer or AdminClient; ``extra`` on top."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol.value.lower(),
        }
        if self.security_protocol.uses_sasl:
            assert self.sasl_password is not None  # validated
            conf["sasl.mechanism"] = self.sasl_mechanism.value
            conf["sasl.username"] = self.sasl_username
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.security_protocol.uses_tls:
            if self.ssl_ca_file is not None:
                conf["ssl.ca.location"] = str(self.ssl_ca_file)
            if self.ssl_cert_file is not None and self.ssl_key_file is not None:
                conf["ssl.certificate.location"] = str(self.ssl_cert_file)
                conf["ssl.key.location"] = str(self.ssl_key_file)
            if self.ssl_key_password is not None:
                conf["ssl.key.password"] = self.ssl_key_password.get_secret_value()
            conf["ssl.endpoint.identification.algorithm"] = "https" if self.ssl_check_hostname else "none"
        return {**conf, **extra}

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for Python clients (aiokafka, Faust); ``None`` when the protocol has no TLS."""
        if not self.security_protocol.uses_tls:
            return None
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(self.ssl_ca_file) if self.ssl_ca_file else None
        )
        if self.ssl_cert_file is not None and self.ssl_key_file is not None:
            password = self.ssl_key_password.get_secret_value() if self.ssl_key_password else None
            context.load_cert_chain(str(self.ssl_cert_file), str(self.ssl_key_file), password)
        context.check_hostname = self.ssl_check_hostname
        return context

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for an ``aiokafka`` client (the same ones Faust passes)."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security_protocol.value,
            "ssl_context": self.ssl_context(),
        }
        if self.security_protocol.uses_sasl:
            assert self.sasl_password is not None
            kwargs["sasl_mechanism"] = self.sasl_mechanism.value
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return kwargs

    def faust_broker(self) -> str:
        """Faust's ``broker`` URL list: one ``kafka://`` URL per server, ``;``-separated (Faust reads a comma
        inside one URL as part of the host)."""
        return ";".join(f"kafka://{server}" for server in self.servers)

    def faust_credentials(self) -> Any:
        """Faust's ``broker_credentials``: SASL (with the TLS context under SASL_SSL), TLS only, or ``None``."""
        import faust

        if self.security_protocol.uses_sasl:
            assert self.sasl_password is not None
            return faust.SASLCredentials(
                username=self.sasl_username,
                password=self.sasl_password.get_secret_value(),
                ssl_context=self.ssl_context(),
                mechanism=self.sasl_mechanism.value,
            )
        context = self.ssl_context()
        return faust.SSLCredentials(context) if context is not None else None

    def describe(self) -> str:
        """A one-line summary for logs and error messages: never a secret."""
        parts = [f"bootstrap={self.bootstrap_servers}", f"security={self.security_protocol.value}"]
        if self.security_protocol.uses_sasl:
            parts += [f"sasl={self.sasl_mechanism.value}", f"user={self.sasl_username}"]
        if self.security_protocol.uses_tls:
            parts.append(f"ca={self.ssl_ca_file or 'system'}")
            parts.append(f"client_cert={'yes' if self.ssl_cert_file else 'no'}")
        return " ".join(parts)


def _is_address(server: str) -> bool:
    host, _, port = server.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def _reject_unknown(environ: Mapping[str, str]) -> None:
    known = {*ENVIRONMENT.values(), _PASSWORD_FILE}
    unknown = sorted(k for k in environ if k.startswith(_GUARDED_PREFIXES) and k not in known)
    if unknown:
        raise KafkaSettingsError(
            f"unknown Kafka setting {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )


def _read_secret(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise KafkaSettingsError(f"{_PASSWORD_FILE}={path}: cannot read it ({exc.strerror})") from None


def _describe(exc: ValidationError) -> str:
    """Each error as ``VARIABLE: reason``; pydantic's messages never carry the input, so no secret leaks."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{ENVIRONMENT[field]}: {message}" if field in ENVIRONMENT else message)
    return "; ".join(lines)
