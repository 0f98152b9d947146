"""A real Apache Kafka (KRaft, single node) that the project provisions and runs by itself: Java 17+ and
Maven, no Docker, no Kafka install. Used by ``pms-relay kafka up|down|status`` (a dev broker on
localhost:9092) and by the test fixtures (a throwaway broker on free ports per pytest session).

Kafka version: 4.4.0, the newest on Maven Central (4.0.0 … 4.4.0 were available). Checked against this
project's clients on 2 cores, Java 17.0.15:

- faust-streaming 0.15.3 / aiokafka 0.14.0: an app with an agent and a table consumed 20 events from a
  pre-created 2-partition topic, created its ``…-counts-changelog`` topic itself, wrote 20 changelog records
  and committed its group offsets (10 + 10).
- confluent-kafka 2.16.1: AdminClient create_topics, produce 10, consume them in a group with synchronous
  commits, read the committed offsets back.

Faust declares only its internal topics (changelogs, repartitions); source topics must exist first.
``auto.create.topics.enable=false`` here keeps that contract honest: ``pms-relay topics create`` makes them.
"""

from deploy.local.broker import DEFAULT_KAFKA_VERSION, BrokerStatus, LocalKafka, ping, start_ephemeral
from deploy.local.errors import LocalKafkaError

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "BrokerStatus",
    "LocalKafka",
    "LocalKafkaError",
    "ping",
    "start_ephemeral",
]
