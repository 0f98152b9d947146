"""Throwaway TLS material for a local secure broker: a CA, the broker's key and certificate, a client's.

The client side is PEM, as librdkafka (``ssl.ca.location``, ``ssl.certificate.location``) and Python's
:mod:`ssl` read it; the broker trusts the CA as a PEM truststore (``ssl.truststore.type=PEM``, KIP-651) and
holds its key in a PKCS#12 keystore. Not a PEM keystore: Kafka reads those only with an encrypted PKCS#8 key
and looks its cipher up as a ``SecretKeyFactory``, and Java 17 has none named "PBES2" (what current
``cryptography`` writes); Java's PKCS#12 reader does handle PBES2. Made with the ``cryptography`` package
(the ``test`` extra) rather than the JDK's keytool, which cannot write a private key as PEM for the client.
The client key is written unencrypted, as a Kubernetes Secret would mount it.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TlsFiles", "make_tls_files"]

_VALID = datetime.timedelta(days=2)


@dataclass(frozen=True)
class TlsFiles:
    """Where the material was written. ``ca`` is what clients trust (``KAFKA_SSL_CA_FILE``)."""

    ca: Path
    broker_keystore: Path  # PKCS#12: key + certificate chain, for ``ssl.keystore.location``
    broker_keystore_password: str
    client_cert: Path  # ``KAFKA_SSL_CERT_FILE``
    client_key: Path  # ``KAFKA_SSL_KEY_FILE``
    other_ca: Path  # a CA nobody signed with: a client trusting only it must be refused


def make_tls_files(directory: Path, hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> TlsFiles:
    """Write a CA, a broker certificate valid for ``hosts`` and a client certificate under ``directory``."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError as exc:  # a runtime image has no test extra
        raise RuntimeError(
            "TLS material for a local broker needs 'cryptography': pip install '.[test]'"
        ) from exc

    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("pms-relay test CA", ca_key, ca_key, None, is_ca=True, hosts=())
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_cert = _certificate("pms-relay test broker", broker_key, ca_key, ca_cert, is_ca=False, hosts=hosts)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _certificate("pms-relay test client", client_key, ca_key, ca_cert, is_ca=False, hosts=())
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_cert = _certificate("pms-relay unrelated CA", other_key, other_key, None, is_ca=True, hosts=())

    pem = serialization.Encoding.PEM
    password = secrets.token_urlsafe(16)
    keystore = pkcs12.serialize_key_and_certificates(
        b"broker",
        broker_key,
        broker_cert,
        [ca_cert],
        serialization.BestAvailableEncryption(password.encode()),
    )
    client_key_pem = client_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    files = TlsFiles(
        ca=directory / "ca.pem",
        broker_keystore=directory / "broker.p12",
        broker_keystore_password=password,
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        other_ca=directory / "other-ca.pem",
    )
    files.ca.write_bytes(ca_cert.public_bytes(pem))
    files.broker_keystore.write_bytes(keystore)
    files.client_cert.write_bytes(client_cert.public_bytes(pem))
    files.client_key.write_bytes(client_key_pem)
    files.client_key.chmod(0o600)
    files.other_ca.write_bytes(other_cert.public_bytes(pem))
    return files


def _certificate(
    common_name: str, key: Any, signer_key: Any, signer: Any, *, is_ca: bool, hosts: Sequence[str]
) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer.subject if signer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if is_ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        purposes = [ExtendedKeyUsageOID.SERVER_AUTH if hosts else ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_name(h) for h in hosts]), critical=False
        )
    return builder.sign(signer_key, hashes.SHA256())


def _name(host: str) -> Any:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
