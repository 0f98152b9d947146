"""deploy/k8s: the core manifests pass ``kubernetes-validate --strict`` and the KEDA objects pass schemas
written from KEDA's documented fields; each check rejects broken copies; and the manifests agree with each
other and with the worker (consumer group, partitions, grace, security, the registry's secret references,
the persistent store on each worker's own claim)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.worker import app as worker_app
from streams.kafka_settings import KafkaSettings
from streams.registry import parse_registry
from tests.unit.deploy.conftest import BrokenCopy
from tests.unit.deploy.tools import DEPLOY, ROOT, cli_accepts, faust_conf, served_pages, tool, worker_options
from topology import WorkerSettings

K8S = DEPLOY / "k8s"
SCHEMAS = DEPLOY / "schemas"
WORKERS = "statefulset.yaml"
CORE = ("configmap.yaml", WORKERS, "headless-service.yaml", "service.yaml", "pdb.yaml")
KEDA = {
    "scaledobject.yaml": SCHEMAS / "keda-scaledobject.schema.json",
    "triggerauthentication.yaml": SCHEMAS / "keda-triggerauthentication.schema.json",
}


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((K8S / name).read_text())
    assert isinstance(document, dict)
    return document


def worker_container() -> dict[str, Any]:
    (container,) = load(WORKERS)["spec"]["template"]["spec"]["containers"]
    return dict(container)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container["env"]}


# -- the checkers ----------------------------------------------------------------------------------------------


def test_every_manifest_is_covered_by_a_checker() -> None:
    assert {path.name for path in K8S.glob("*.yaml")} == set(CORE) | set(KEDA)


def test_kubernetes_validate_passes_the_core_manifests() -> None:
    done = tool("kubernetes-validate", "--strict", *(K8S / name for name in CORE))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert output.count(" passed for resource ") == len(CORE), output  # each one checked against a schema
    assert "Couldn't find schema" not in output


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        (WORKERS, "readOnlyRootFilesystem: true", "readOnlyRootFS: true"),  # unknown field (strict)
        (WORKERS, "terminationGracePeriodSeconds: 75", "terminationGracePeriodSeconds: soon"),
        (WORKERS, "  volumeClaimTemplates:", "  volumeClaimTemplate:"),  # misspelt: no such field
        (WORKERS, '        accessModes: ["ReadWriteOnce"]', "        accessModes: ReadWriteOnce"),  # a list
        ("service.yaml", "      port: 6066", "      port: http"),  # a Service port is a number
        ("headless-service.yaml", "  clusterIP: None", "  clusterIP: [None]"),
        ("pdb.yaml", "apiVersion: policy/v1", "apiVersion: policy/v1\nspec2: {}"),
    ],
    ids=[
        "misspelt-field",
        "wrong-type",
        "misspelt-claims",
        "access-modes-type",
        "port-name",
        "cluster-ip-type",
        "unknown-top-level",
    ],
)
def test_kubernetes_validate_rejects_a_broken_copy(
    broken_copy: BrokenCopy, name: str, old: str, new: str
) -> None:
    done = tool("kubernetes-validate", "--strict", broken_copy(K8S / name, old, new))
    assert done.returncode != 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(KEDA))
def test_the_keda_objects_match_their_schemas(name: str) -> None:
    done = tool("check-jsonschema", "--schemafile", KEDA[name], K8S / name)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_keda_schemas_are_valid_json_schemas() -> None:
    done = tool("check-jsonschema", "--check-metaschema", *KEDA.values())
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('lagThreshold: "50"', 'lagTreshold: "50"'),  # misspelt: the cluster would silently use 10
        ('lagThreshold: "50"', "lagThreshold: 50"),  # KEDA's metadata values are strings
        ("        consumerGroup: pms-relay\n", ""),  # required
        ("sasl: scram_sha512", "sasl: scram-sha-512"),  # not one of KEDA's modes
        ("  maxReplicaCount: 12", "  maxReplicas: 12"),  # the HPA's word, not KEDA's
        ("apiVersion: keda.sh/v1alpha1", "apiVersion: keda.sh/v1"),
        ("      authenticationRef:\n        name: pms-relay-kafka\n", "      authenticationRef: {}\n"),
    ],
    ids=["misspelt-lag", "lag-type", "no-group", "sasl-mode", "hpa-word", "api-version", "auth-name"],
)
def test_the_scaledobject_schema_rejects_a_broken_copy(broken_copy: BrokenCopy, old: str, new: str) -> None:
    schema = KEDA["scaledobject.yaml"]
    done = tool("check-jsonschema", "--schemafile", schema, broken_copy(K8S / "scaledobject.yaml", old, new))
    assert done.returncode != 0, done.stdout


def test_the_triggerauthentication_schema_rejects_a_broken_copy(broken_copy: BrokenCopy) -> None:
    copy = broken_copy(K8S / "triggerauthentication.yaml", "key: ca.crt}", "keys: ca.crt}")
    done = tool("check-jsonschema", "--schemafile", KEDA["triggerauthentication.yaml"], copy)
    assert done.returncode != 0, done.stdout


# -- what the manifests must agree on --------------------------------------------------------------------------


def test_keda_scales_the_workers_statefulset() -> None:
    """KEDA scales a Deployment unless told otherwise: a name alone would scale nothing (or the wrong kind)."""
    workers = load(WORKERS)
    assert (workers["apiVersion"], workers["kind"]) == ("apps/v1", "StatefulSet")
    assert load("scaledobject.yaml")["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": workers["metadata"]["name"],
    }


def test_keda_scales_the_workers_on_pms_commands_only_for_their_group() -> None:
    scaled = load("scaledobject.yaml")["spec"]
    (trigger,) = scaled["triggers"]  # one trigger: the retry tiers' lag is deliberate
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    env = env_of(worker_container())
    assert metadata["consumerGroup"] == env["PMS_RELAY_APP_ID"]  # Faust's group id is the app id
    assert metadata["topic"] == "pms.commands"
    assert "PMS_RELAY_TOPIC_PREFIX" not in env
    assert metadata["bootstrapServers"] == env["KAFKA_BOOTSTRAP_SERVERS"]
    assert int(metadata["lagThreshold"]) > 0
    assert (metadata["sasl"], metadata["tls"]) == ("scram_sha512", "enable")  # as the workers connect
    assert trigger["authenticationRef"]["name"] == load("triggerauthentication.yaml")["metadata"]["name"]


def test_replicas_are_capped_at_the_partition_count() -> None:
    scaled = load("scaledobject.yaml")["spec"]
    (init,) = load(WORKERS)["spec"]["template"]["spec"]["initContainers"]
    args = init["args"]
    assert args[:2] == ["topics", "create"]
    partitions = int(args[args.index("--partitions") + 1])
    assert scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= partitions
    assert scaled["minReplicaCount"] >= 2  # one may be drained (the PDB) while another consumes
    assert int(args[args.index("--replication-factor") + 1]) >= 3


def test_termination_grace_covers_a_call_and_a_revocation() -> None:
    pod = load(WORKERS)["spec"]["template"]["spec"]
    revoke_wait = next(p for p in _worker_options() if p.name == "revoke_wait").default
    assert pod["terminationGracePeriodSeconds"] > WorkerSettings().call_budget_seconds + revoke_wait


def test_pods_run_as_non_root_on_a_read_only_root() -> None:
    pod = load(WORKERS)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    for container in pod["containers"] + pod["initContainers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]["memory"]
    mounts = {m["mountPath"] for m in worker_container()["volumeMounts"] if not m.get("readOnly")}
    assert mounts == {"/var/lib/pms-relay", "/tmp"}  # Faust's data dir (the image's WORKDIR) and /tmp


def test_probes_and_the_metrics_service_use_the_web_port() -> None:
    container = worker_container()
    env = env_of(container)
    (port,) = container["ports"]
    assert port["containerPort"] == int(env["PMS_RELAY_WEB_PORT"])
    assert env["PMS_RELAY_WEB_HOST"] == "0.0.0.0"  # the kubelet probes from outside the pod's loopback
    paths = {
        probe: container[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert paths == {
        "startupProbe": "/health/live",
        "livenessProbe": "/health/live",
        "readinessProbe": "/health/ready",
    }
    assert set(paths.values()) <= served_pages()
    for probe in paths:
        assert container[probe]["httpGet"]["port"] == port["name"]
    service = load("service.yaml")["spec"]
    assert service["ports"][0]["targetPort"] == port["name"]
    assert service["selector"] == load(WORKERS)["spec"]["template"]["metadata"]["labels"]
    assert service.get("clusterIP") != "None"  # one address for people; Prometheus scrapes its endpoints


def test_the_pdb_selects_the_workers() -> None:
    workers = load(WORKERS)["spec"]
    labels = workers["template"]["metadata"]["labels"]
    assert workers["selector"]["matchLabels"] == labels
    assert load("pdb.yaml")["spec"]["selector"]["matchLabels"] == labels
    assert load("pdb.yaml")["spec"]["maxUnavailable"] == 1


# -- the persistent store ----------------------------------------------------------------------------------------


def test_the_worker_keeps_its_tables_in_rocksdb_on_its_own_claim() -> None:
    """``--store rocksdb --data-dir D``, with D the mount of a volumeClaimTemplate: every pod gets its own
    ReadWriteOnce volume there, which outlives the pod (a restart recovers from it), not an emptyDir."""
    workers = load(WORKERS)["spec"]
    container = worker_container()
    options = worker_options(container["args"])
    assert options["store"] == "rocksdb"
    data_dir = options["data_dir"]
    assert data_dir is not None
    (mount,) = (m for m in container["volumeMounts"] if Path(m["mountPath"]) == data_dir)
    assert not mount.get("readOnly")
    assert mount["name"] not in {volume["name"] for volume in workers["template"]["spec"]["volumes"]}
    (claim,) = (c for c in workers["volumeClaimTemplates"] if c["metadata"]["name"] == mount["name"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"].endswith("Gi")
    retention = workers.get("persistentVolumeClaimRetentionPolicy", {})
    assert retention.get("whenScaled", "Retain") == retention.get("whenDeleted", "Retain") == "Retain"


def test_the_workers_args_give_faust_a_persistent_store_with_a_standby() -> None:
    args = worker_container()["args"]
    conf = faust_conf(args)
    assert str(conf.store) == "rocksdb:"
    assert Path(conf.datadir) == worker_options(args)["data_dir"]
    assert conf.table_standby_replicas == 1  # a promoted standby is up to date only with a persistent store


def test_the_claim_is_writable_by_the_worker() -> None:
    """The kubelet gives a claim's files to the pod's fsGroup: the worker's own group."""
    context = load(WORKERS)["spec"]["template"]["spec"]["securityContext"]
    assert context["fsGroup"] == context["runAsGroup"]
    assert context.get("fsGroupChangePolicy") == "OnRootMismatch"  # no chown of every file on each start


def test_scale_out_starts_workers_at_once_and_updates_roll() -> None:
    workers = load(WORKERS)["spec"]
    assert workers["podManagementPolicy"] == "Parallel"
    assert workers["updateStrategy"]["type"] == "RollingUpdate"
    assert workers["updateStrategy"].get("rollingUpdate", {}).get("partition", 0) == 0  # every pod updated


def test_the_statefulset_is_governed_by_a_headless_service_of_its_pods() -> None:
    workers = load(WORKERS)["spec"]
    services = {doc["metadata"]["name"]: doc for doc in map(load, ("headless-service.yaml", "service.yaml"))}
    governing = services[workers["serviceName"]]["spec"]
    assert governing["clusterIP"] == "None"
    assert governing["selector"] == workers["template"]["metadata"]["labels"]
    assert not governing.get("ports")  # the metrics Service serves the web port; no second scrape target


def test_the_worker_reads_the_registry_the_configmap_holds() -> None:
    configmap = load("configmap.yaml")
    container = worker_container()
    args = container["args"]
    config_path = Path(args[args.index("--config") + 1])
    mount = next(m for m in container["volumeMounts"] if m["name"] == "practices")
    assert config_path.parent == Path(mount["mountPath"])
    assert config_path.name in configmap["data"]


def test_every_secret_the_registry_references_is_given_to_the_worker() -> None:
    """The ConfigMap's registry validates with exactly the environment the StatefulSet gives the worker."""
    registry = yaml.safe_load(load("configmap.yaml")["data"]["practices.yaml"])
    env = {name: "from-a-secret" for name in env_of(worker_container())}
    parsed = parse_registry(registry, environ=env, base_dir=ROOT)
    assert len(parsed) == len(registry["practices"])
    secret_refs = [e["valueFrom"]["secretKeyRef"] for e in worker_container()["env"] if "valueFrom" in e]
    assert {ref["name"] for ref in secret_refs} == {"pms-relay-kafka", "pms-relay-practices"}


def test_the_workers_kafka_variables_are_valid_settings(tmp_path: Path) -> None:
    """The StatefulSet's KAFKA_* variables build KafkaSettings (files stood in for by the test's own)."""
    env: dict[str, str] = {}
    for name, value in env_of(worker_container()).items():
        if not name.startswith("KAFKA_"):
            continue
        if isinstance(value, dict):  # from a Secret
            value = "relay"
        if name.endswith("_FILE"):
            stand_in = tmp_path / Path(value).name
            stand_in.write_text("stand-in\n")
            value = str(stand_in)
        env[name] = value
    settings = KafkaSettings.from_env(env)
    assert settings.security_protocol.value == "SASL_SSL"
    assert settings.sasl_mechanism.value == "SCRAM-SHA-512"
    assert len(settings.servers) == 3


def test_the_init_container_and_the_worker_connect_alike() -> None:
    pod = load(WORKERS)["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    worker_kafka = {
        k: v for k, v in env_of(worker_container()).items() if k.startswith(("KAFKA_", "PMS_RELAY_APP"))
    }
    assert {k: v for k, v in env_of(init).items() if k in worker_kafka} == worker_kafka
    assert init["image"] == worker_container()["image"]
    assert shlex.join(init["args"]).startswith("topics create")


def test_every_container_runs_a_command_the_cli_accepts() -> None:
    pod = load(WORKERS)["spec"]["template"]["spec"]
    for container in pod["initContainers"] + pod["containers"]:
        assert cli_accepts([*container["args"], "--help"]), container["args"]


def _worker_options() -> list[Any]:
    import typer.main

    command = typer.main.get_command(worker_app)
    return list(command.params)
