"""The Kafka settings: read from the environment, validated, never printing a secret, and what each client
library gets from them; the access check's diagnosis of librdkafka's refusals (pure)."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from confluent_kafka import KafkaError

from deploy.local.tls import make_tls_files
from streams.kafka_access import diagnose
from streams.kafka_settings import ENVIRONMENT, KafkaSettings, KafkaSettingsError, SecurityProtocol
from streams.topics import TopicSettings, min_insync_replicas, topic_specs

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    files = make_tls_files(tmp_path_factory.mktemp("tls"))
    return {"ca": str(files.ca), "cert": str(files.client_cert), "key": str(files.client_key)}


def sasl_ssl(tls: dict[str, str], **more: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": "b1:9093, b2:9093",
        "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "KAFKA_SASL_USERNAME": "relay",
        "KAFKA_SASL_PASSWORD": PASSWORD,
        "KAFKA_SSL_CA_FILE": tls["ca"],
        **more,
    }


def test_the_default_is_plaintext_on_localhost() -> None:
    settings = KafkaSettings.from_env({})
    assert settings.confluent() == {"bootstrap.servers": "localhost:9092", "security.protocol": "plaintext"}
    assert settings.faust_credentials() is None
    assert settings.ssl_context() is None


def test_an_option_overrides_the_environment() -> None:
    settings = KafkaSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "env:1"}, bootstrap_servers="option:2")
    assert settings.bootstrap_servers == "option:2"


def test_sasl_ssl_for_librdkafka(tls: dict[str, str]) -> None:
    conf = KafkaSettings.from_env(sasl_ssl(tls)).confluent(**{"client.id": "x"})
    assert conf == {
        "bootstrap.servers": "b1:9093,b2:9093",
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "relay",
        "sasl.password": PASSWORD,
        "ssl.ca.location": tls["ca"],
        "ssl.endpoint.identification.algorithm": "https",
        "client.id": "x",
    }


def test_sasl_ssl_for_faust(tls: dict[str, str]) -> None:
    settings = KafkaSettings.from_env(
        sasl_ssl(tls, KAFKA_SSL_CERT_FILE=tls["cert"], KAFKA_SSL_KEY_FILE=tls["key"])
    )
    # One URL per server: Faust would read "kafka://b1:9093,b2:9093" as one host.
    assert settings.faust_broker() == "kafka://b1:9093;kafka://b2:9093"
    credentials = settings.faust_credentials()
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("relay", PASSWORD)
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_SSL"
    context = credentials.ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname
    assert context.verify_mode is ssl.CERT_REQUIRED


def test_ssl_only_gives_faust_ssl_credentials(tls: dict[str, str]) -> None:
    env = {
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_SSL_CA_FILE": tls["ca"],
        "KAFKA_SSL_CHECK_HOSTNAME": "false",
    }
    settings = KafkaSettings.from_env(env)
    credentials = settings.faust_credentials()
    assert isinstance(credentials, faust.SSLCredentials)
    assert not credentials.context.check_hostname
    assert settings.confluent()["ssl.endpoint.identification.algorithm"] == "none"
    assert settings.aiokafka()["security_protocol"] == "SSL"


def test_the_password_can_come_from_a_mounted_secret(tmp_path: Path, tls: dict[str, str]) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    env = sasl_ssl(tls)
    del env["KAFKA_SASL_PASSWORD"]
    settings = KafkaSettings.from_env({**env, "KAFKA_SASL_PASSWORD_FILE": str(secret)})
    assert settings.confluent()["sasl.password"] == PASSWORD


def test_secrets_are_never_printed(tls: dict[str, str]) -> None:
    settings = KafkaSettings.from_env(
        sasl_ssl(
            tls,
            KAFKA_SSL_KEY_PASSWORD="key-secret",
            KAFKA_SSL_CERT_FILE=tls["cert"],
            KAFKA_SSL_KEY_FILE=tls["key"],
        )
    )
    for text in (str(settings), repr(settings), settings.describe(), str(settings.model_dump())):
        assert PASSWORD not in text
        assert "key-secret" not in text
    assert settings.describe() == (
        f"bootstrap=b1:9093,b2:9093 security=SASL_SSL sasl=SCRAM-SHA-512 user=relay ca={tls['ca']} client_cert=yes"
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"KAFKA_SASL_PASSWORD": ""}, "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SASL_USERNAME": ""}, "KAFKA_SASL_USERNAME"),
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SASL_MECHANISM": "KERBEROS"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SSL_CA_FILE": "/nowhere/ca.pem"}, "KAFKA_SSL_CA_FILE"),
        ({"KAFKA_SSL_CERT_FILE": "{cert}"}, "KAFKA_SSL_KEY_FILE"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "no-port"}, "KAFKA_BOOTSTRAP_SERVERS"),
        ({"KAFKA_SSL_CHECK_HOSTNAME": "maybe"}, "KAFKA_SSL_CHECK_HOSTNAME"),
        ({"KAFKA_SSL_CA_FLE": "/typo"}, "KAFKA_SSL_CA_FLE"),
        ({"KAFKA_SASL_PASSWORD_FILE": "/nowhere"}, "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "KAFKA_SASL_USERNAME"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"}, "KAFKA_SASL_USERNAME"),
    ],
)
def test_bad_settings_name_the_variable(tls: dict[str, str], change: dict[str, str], named: str) -> None:
    env = sasl_ssl(tls, **{k: v.format(**tls) for k, v in change.items()})
    with pytest.raises(KafkaSettingsError, match=named) as raised:
        KafkaSettings.from_env(env)
    assert PASSWORD not in str(raised.value)


def test_tls_files_need_a_tls_protocol(tls: dict[str, str]) -> None:
    with pytest.raises(KafkaSettingsError, match="does not use TLS"):
        KafkaSettings.from_env({"KAFKA_SSL_CA_FILE": tls["ca"]})


def test_settings_are_frozen_and_strict() -> None:
    settings = KafkaSettings()
    with pytest.raises(ValueError, match="frozen"):
        settings.bootstrap_servers = "x:1"  # type: ignore[misc]
    with pytest.raises(ValueError, match="Extra inputs"):
        KafkaSettings.model_validate({"bootstrap": "x:1"})


def test_every_field_has_one_variable() -> None:
    assert set(ENVIRONMENT) == set(KafkaSettings.model_fields)
    assert all(variable.startswith("KAFKA_") for variable in ENVIRONMENT.values())


# -- the access check's diagnosis ------------------------------------------------------------------------------

_SASL = KafkaSettings(
    bootstrap_servers="b:9093",
    security_protocol=SecurityProtocol.SASL_SSL,
    sasl_username="relay",
    sasl_password=PASSWORD,  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
)


@pytest.mark.parametrize(
    ("code", "text", "setting"),
    [
        (
            KafkaError._AUTHENTICATION,
            "sasl_ssl://b:9093/bootstrap: SASL authentication error: Authentication failed during authentication "
            "due to invalid credentials with SASL mechanism SCRAM-SHA-512",
            "KAFKA_SASL_PASSWORD",
        ),
        (
            KafkaError._SSL,
            "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate "
            "could not be verified",
            "KAFKA_SSL_CA_FILE",
        ),
        (
            KafkaError._TRANSPORT,
            "ssl://b:9094/bootstrap: Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate",
            "KAFKA_SSL_CERT_FILE",
        ),
        (KafkaError._SSL, "SSL handshake failed: wrong version number", "KAFKA_SSL_CA_FILE"),
        (KafkaError._TRANSPORT, "Connection refused", None),
        (KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down", None),
    ],
)
def test_refusals_name_the_setting(code: int, text: str, setting: str | None) -> None:
    found = diagnose(code, text, _SASL)
    assert (found.setting if found else None) == setting
    if found is not None:
        assert setting in str(found)
        assert PASSWORD not in str(found)


# -- replication -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("replicas", "min_insync"), [(-1, None), (1, 1), (2, 1), (3, 2), (5, 2)])
def test_min_insync_replicas(replicas: int, min_insync: int | None) -> None:
    assert min_insync_replicas(replicas) == min_insync


def test_replicated_topics_carry_min_insync() -> None:
    specs = topic_specs(TopicSettings(replication_factor=3))
    assert {s.config["min.insync.replicas"] for s in specs} == {"2"}
    assert {s.replication_factor for s in specs} == {3}
    assert all("min.insync.replicas" not in s.config for s in topic_specs(TopicSettings()))
