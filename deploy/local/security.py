"""A local broker's secure listeners, as pure functions: what ``server.properties`` and ``StorageTool format``
need for a SASL_SSL listener (SCRAM-SHA-512) and an SSL listener that requires a client certificate.

The broker keeps its PLAINTEXT listener on loopback for itself (inter-broker traffic, the readiness ping):
clients under test connect to the secure ports, and nothing a client does goes over PLAINTEXT.

SCRAM users are written into the metadata log when the storage is formatted (``--add-scram``), the KRaft way:
there is no ZooKeeper to hold them, and the broker serves them from its first start.
"""

from __future__ import annotations

from dataclasses import dataclass

from deploy.local.tls import TlsFiles

__all__ = ["MECHANISM", "BrokerSecurity", "ScramUser", "format_arguments", "security_properties"]

MECHANISM = "SCRAM-SHA-512"
SASL_LISTENER = "SASL_SSL"
MTLS_LISTENER = "MTLS"


@dataclass(frozen=True)
class ScramUser:
    name: str
    password: str

    def __post_init__(self) -> None:
        # StorageTool parses ``[name=…,password=…]``: these characters would split the entry.
        if any(c in f"{self.name}{self.password}" for c in ",=[]\"'"):
            raise ValueError("SCRAM user names and passwords here may not contain , = [ ] or quotes")


@dataclass(frozen=True)
class BrokerSecurity:
    """The secure listeners' ports, the TLS material and the SCRAM users of one broker."""

    sasl_port: int
    mtls_port: int
    tls: TlsFiles
    users: tuple[ScramUser, ...]


def listeners(security: BrokerSecurity) -> dict[str, tuple[str, int]]:
    """Listener name -> (security protocol, port)."""
    return {SASL_LISTENER: ("SASL_SSL", security.sasl_port), MTLS_LISTENER: ("SSL", security.mtls_port)}


def security_properties(security: BrokerSecurity) -> dict[str, str]:
    """The TLS and SASL settings; the listeners themselves are laid out by ``config.broker_properties``."""
    tls = security.tls
    sasl = SASL_LISTENER.lower()
    return {
        "sasl.enabled.mechanisms": MECHANISM,
        f"listener.name.{sasl}.sasl.enabled.mechanisms": MECHANISM,
        f"listener.name.{sasl}.{MECHANISM.lower()}.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(tls.broker_keystore),
        "ssl.keystore.password": tls.broker_keystore_password,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tls.ca),
        "ssl.client.auth": "none",
        f"listener.name.{MTLS_LISTENER.lower()}.ssl.client.auth": "required",
    }


def format_arguments(security: BrokerSecurity | None) -> list[str]:
    """``StorageTool format`` arguments that create the SCRAM users."""
    if security is None:
        return []
    arguments = []
    for user in security.users:
        arguments += ["--add-scram", f"{MECHANISM}=[name={user.name},password={user.password}]"]
    return arguments
