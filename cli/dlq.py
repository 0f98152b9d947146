"""``pms-relay dlq list|redrive``: inspect the dead-letter topic and put commands back once their cause is fixed.

Only headers are read (command id, type, practice, error code, attempts, origin): a dead letter's value may
hold patient data and is never printed. See :mod:`streams.redrive` for what a redrive does in the worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["app"]

app = typer.Typer(help="Inspect and redrive dead-lettered commands.", no_args_is_help=True)

_Bootstrap = Annotated[
    str,
    typer.Option(
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka bootstrap servers (security: the KAFKA_* variables, deploy/README.md).",
    ),
]
_Prefix = Annotated[str, typer.Option(envvar="PMS_RELAY_TOPIC_PREFIX", help="Topic name prefix.")]
_Practice = Annotated[str | None, typer.Option(help="Only this practice's dead letters.")]


@app.command("list")
def list_(
    bootstrap_servers: _Bootstrap = "localhost:9092",
    prefix: _Prefix = "",
    practice: _Practice = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest last.")] = 50,
) -> None:
    """List dead letters: where they came from, why, after how many attempts."""
    kafka = _connect(bootstrap_servers)
    letters = [x for x in _dead_letters(kafka, prefix) if _of(x[0], practice)]
    table = Table(title=f"{len(letters)} dead letters on {prefix}pms.commands.dlt")
    for column in ("at", "command id", "type", "practice", "error", "attempts", "first seen", "from"):
        table.add_column(column)
    for letter, _value, _headers in letters[-limit:]:
        hop = letter.hop
        table.add_row(
            f"{letter.partition}:{letter.offset}",
            letter.command_id or "?",
            letter.command_type or "?",
            (letter.key or b"").decode(errors="replace") or "?",
            hop.error_code or "?" if hop else "?",
            str(hop.attempts) if hop else "?",
            hop.first_seen.isoformat(timespec="seconds") if hop else "?",
            f"{hop.origin.topic}:{hop.origin.partition}:{hop.origin.offset}" if hop else "?",
        )
    Console().print(table)


@app.command()
def redrive(
    command_id: Annotated[
        list[str] | None, typer.Option("--command-id", help="Redrive this command (repeatable).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Redrive every dead letter (of --practice).")] = False,
    bootstrap_servers: _Bootstrap = "localhost:9092",
    prefix: _Prefix = "",
    practice: _Practice = None,
    dry_run: Annotated[bool, typer.Option(help="Say what would be redriven, send nothing.")] = False,
) -> None:
    """Put dead-lettered commands back on pms.commands, with their attempts starting again.

    A write is reconciled with the PMS before it is written again, so a redrive never doubles a write.
    """
    from confluent_kafka import Producer

    from streams.redrive import redrive_copy

    if not all_ and not command_id:
        raise typer.BadParameter("name --command-id (repeatable) or --all")
    kafka = _connect(bootstrap_servers)
    wanted = set(command_id or ())
    chosen = [
        x for x in _dead_letters(kafka, prefix) if _of(x[0], practice) and (all_ or x[0].command_id in wanted)
    ]
    console = Console()
    missing = wanted - {letter.command_id for letter, _v, _h in chosen}
    if missing:
        console.print(f"[yellow]not on the dead-letter topic:[/] {', '.join(sorted(missing))}")
    if dry_run or not chosen:
        console.print(f"would redrive {len(chosen)} commands" if dry_run else "nothing to redrive")
        return
    producer = Producer(kafka.confluent(partitioner="murmur2_random"))
    redrive_id = uuid.uuid4().hex
    for letter, value, headers in chosen:
        producer.produce(
            f"{prefix}pms.commands", key=letter.key, value=value, headers=redrive_copy(headers, redrive_id)
        )
    if producer.flush(30):
        console.print("[red]some redrive copies were not acknowledged by the broker[/]")
        raise typer.Exit(1)
    console.print(f"[green]redrove {len(chosen)} commands[/] (redrive {redrive_id})")


def _connect(bootstrap_servers: str) -> Any:
    """The Kafka settings, once the cluster has let us in; exit 2 naming the setting otherwise."""
    from streams.kafka_access import KafkaAccessError, check_access
    from streams.kafka_settings import KafkaSettings, KafkaSettingsError

    try:
        kafka = KafkaSettings.from_env(bootstrap_servers=bootstrap_servers)
        check_access(kafka)
    except (KafkaSettingsError, KafkaAccessError) as exc:
        Console(stderr=True).print(Text(str(exc), style="red"))
        raise typer.Exit(2) from exc
    return kafka


def _of(letter: Any, practice: str | None) -> bool:
    return practice is None or letter.key == practice.encode()


def _dead_letters(kafka: Any, prefix: str) -> Iterator[tuple[Any, bytes, list[tuple[str, bytes]]]]:
    """Every dead letter on the topic now, oldest first per partition: (header summary, raw value, headers)."""
    from confluent_kafka import Consumer, TopicPartition

    from streams.redrive import read_dead_letter

    topic = f"{prefix}pms.commands.dlt"
    consumer = Consumer(
        kafka.confluent(**{"group.id": f"pms-relay-dlq-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False})
    )
    try:
        metadata = consumer.list_topics(topic, timeout=15).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise typer.BadParameter(f"no topic {topic} (check --prefix and --bootstrap-servers)")
        ends: dict[int, int] = {}
        starts = []
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
            if high > low:
                ends[partition] = high
                starts.append(TopicPartition(topic, partition, low))
        consumer.assign(starts)
        while ends:
            message = consumer.poll(5.0)
            if message is None:
                break
            if message.error():
                continue
            partition, offset = message.partition(), message.offset()
            headers = [(k, v) for k, v in message.headers() or () if v is not None]
            yield read_dead_letter(partition, offset, message.key(), headers), message.value() or b"", headers
            if offset + 1 >= ends.get(partition, 0):
                ends.pop(partition, None)
    finally:
        consumer.close()
