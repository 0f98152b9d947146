"""The pure parts of :mod:`deploy.local`, and the jar cache's one-fetch-at-a-time guarantee (with a fake mvn)."""

from __future__ import annotations

import re
import stat
import threading
from pathlib import Path

import pytest

from deploy.local import config
from deploy.local.errors import ToolMissing
from deploy.local.jars import default_cache_root, fetch_jars, render_pom
from deploy.local.java import find_java, parse_java_major


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("no version here", None),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


def test_find_java_explains_a_bad_java_home(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match="JAVA_HOME"):
        find_java({"JAVA_HOME": str(tmp_path), "PATH": ""})


def test_find_java_explains_no_java(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match="java not found"):
        find_java({"PATH": str(tmp_path)})


def test_broker_properties_are_a_fast_single_node() -> None:
    props = config.broker_properties(
        log_dir=Path("/d/kraft"), host="127.0.0.1", port=19092, controller_port=19093
    )
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["offsets.topic.replication.factor"] == "1"
    assert config.listener_port(props) == ("127.0.0.1", 19092)
    assert config.listener_port(props, "CONTROLLER") is None  # not advertised


def test_properties_round_trip() -> None:
    props = config.broker_properties(log_dir=Path("/d"), host="localhost", port=1, controller_port=2)
    text = "# comment\n\n" + config.render_properties(props)
    assert config.parse_properties(text) == props


def test_cluster_id_looks_like_kafkas() -> None:
    ids = {config.new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", i) for i in ids)


def test_cache_root_honours_xdg(tmp_path: Path) -> None:
    assert default_cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "pms-relay"


def test_pom_names_the_version() -> None:
    assert "<artifactId>kafka_2.13</artifactId><version>4.4.0</version>" in render_pom("4.4.0")


def test_concurrent_fetches_run_maven_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    fake_mvn = bin_dir / "mvn"
    # Writes the jar Maven would copy, slowly enough for the callers to overlap.
    fake_mvn.write_text(
        "#!/bin/sh\n"
        f'echo run >> "{calls}"\n'
        "sleep 0.3\n"
        'for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}";; esac; done\n'
        'touch "$out/kafka_2.13-9.9.9.jar" "$out/kafka-clients-9.9.9.jar"\n'
    )
    fake_mvn.chmod(fake_mvn.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    cache = tmp_path / "cache"
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(fetch_jars("9.9.9", cache))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls.read_text().splitlines() == ["run"]
    assert results == [cache / "9.9.9"] * 4
    assert sorted(p.name for p in (cache / "9.9.9").iterdir()) == [
        "kafka-clients-9.9.9.jar",
        "kafka_2.13-9.9.9.jar",
    ]
    assert [p.name for p in cache.iterdir() if p.name.startswith(".9.9.9.") and p.is_dir()] == []


def test_fetch_explains_missing_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="mvn not found"):
        fetch_jars("9.9.9", tmp_path / "cache")


def test_a_quorum_node_replicates_three_ways() -> None:
    voters = "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3"
    props = config.broker_properties(
        log_dir=Path("/d"), host="127.0.0.1", port=9, controller_port=2, node_id=2, voters=voters
    )
    assert (props["node.id"], props["controller.quorum.voters"]) == ("2", voters)
    for key in ("default.replication.factor", "offsets.topic.replication.factor"):
        assert props[key] == "3"
    assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"
    assert props["broker.session.timeout.ms"] == "3000"  # a killed node is fenced quickly
    alone = config.broker_properties(log_dir=Path("/d"), host="h", port=1, controller_port=2)
    assert "broker.session.timeout.ms" not in alone


def test_secure_listeners_beside_the_plaintext_one(tmp_path: Path) -> None:
    from deploy.local.security import BrokerSecurity, ScramUser, format_arguments
    from deploy.local.tls import TlsFiles

    tls = TlsFiles(
        ca=tmp_path / "ca",
        broker_keystore=tmp_path / "ks",
        broker_keystore_password="pw",
        client_cert=tmp_path / "c",
        client_key=tmp_path / "k",
        other_ca=tmp_path / "o",
    )
    security = BrokerSecurity(sasl_port=7, mtls_port=8, tls=tls, users=(ScramUser("relay", "s3cret"),))
    props = config.broker_properties(
        log_dir=Path("/d"), host="h", port=6, controller_port=5, security=security
    )
    assert props["listeners"] == "PLAINTEXT://h:6,SASL_SSL://h:7,MTLS://h:8,CONTROLLER://h:5"
    assert props["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL"
    )
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.mtls.ssl.client.auth"] == "required"
    assert config.listener_port(props) == ("h", 6)
    assert format_arguments(security) == ["--add-scram", "SCRAM-SHA-512=[name=relay,password=s3cret]"]


@pytest.mark.parametrize("password", ["a,b", "a]b", "a=b"])
def test_scram_users_refuse_what_storage_tool_would_split(password: str) -> None:
    from deploy.local.security import ScramUser

    with pytest.raises(ValueError, match="may not contain"):
        ScramUser("relay", password)
