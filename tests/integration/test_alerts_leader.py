"""Two ``AlertService`` instances on the real broker: only the leader sends, a leadership change does not page
again, and a circuit that closes is resolved. Status records are produced as a worker writes them; the sink
is a real loopback receiver. (The worker-driven end to end, the demo's sustained 503s, is not written yet.)"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from ops.alerts import AlertService, AlertSettings
from streams.topics import TopicSettings, ensure_topics, topic_specs
from tests.relay_system import wait_until
from tests.unit.ops.alerts.fleet import practice, worker
from tests.unit.ops.alerts.receiver import receiver

pytestmark = pytest.mark.integration
KEY = "pms-relay:circuit_open:es-demo:eaglesoft"


@pytest.mark.timeout(120)
def test_two_instances_send_once_and_resolve(kafka_bootstrap: str) -> None:
    prefix = f"al{uuid.uuid4().hex[:8]}."
    ensure_topics(
        AdminClient({"bootstrap.servers": kafka_bootstrap}), topic_specs(TopicSettings(prefix=prefix))
    )
    producer = Producer({"bootstrap.servers": kafka_bootstrap})

    def status(**fields: object) -> None:
        now = datetime.now(UTC)
        producer.produce(f"{prefix}pms.status", key=b"worker|w1", value=json.dumps(worker(now)).encode())
        record = practice("es-demo", now, **fields)
        producer.produce(f"{prefix}pms.status", key=b"practice|es-demo", value=json.dumps(record).encode())
        producer.flush(10)

    status(circuit="open", circuit_since=(datetime.now(UTC) - timedelta(seconds=30)).isoformat())
    with receiver() as hook:
        settings = AlertSettings.model_validate(
            {
                "sinks": [{"kind": "webhook", "name": "hook", "url": hook.url}],
                "thresholds": {"circuit_open_s": 1},
                "grouping": {"wait_s": 0, "interval_s": 0},
                "evaluate_interval_s": 0.5,
                "status_interval_s": 1,
            }
        )
        config = {"bootstrap.servers": kafka_bootstrap}
        services = [
            AlertService(settings, config, prefix=prefix, instance_id=f"a{n}", session_timeout_s=6)
            for n in (0, 1)
        ]
        threads = [threading.Thread(target=s.run, daemon=True) for s in services]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: sum(s.leader for s in services) == 1, timeout=60, what="one leader")
            wait_until(lambda: hook.requests, timeout=30, what="the firing alert")
            status(circuit="closed")
            wait_until(lambda: len(hook.requests) >= 2, timeout=30, what="the resolved alert")
        finally:
            for service in services:
                service.stop()
            for thread in threads:
                thread.join(30)
        sent = [(body["status"], [a["dedup_key"] for a in body["alerts"]]) for body in hook.bodies()]
        assert sent == [("firing", [KEY]), ("resolved", [KEY])]
