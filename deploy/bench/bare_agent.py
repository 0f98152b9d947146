"""The yardstick of P1: a bare Faust agent that forwards each message's bytes (key, value, headers) from the
commands topic to the results topic, one ``send`` per message, as a naive Faust app would.

Same broker, same Faust app settings that matter for speed (memory store, acks from all replicas, the commit
interval), same messages and partitions as the relay it is compared with. The forwarded copy gains one
header, ``ce_correlationid`` (the command's ``ce_id``), so the bench's collector times it like an answer.

    python -m deploy.bench.bare_agent --bootstrap-servers HOST:PORT --source T --sink T --app-id ID
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, cast

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    import faust

    from streams.logs import configure_logging

    parser = argparse.ArgumentParser(prog="bare_agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--sink", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    app = faust.App(
        args.app_id,
        broker=f"kafka://{args.bootstrap_servers}",
        store="memory://",
        topic_partitions=args.partitions,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        producer_acks=-1,
        web_enabled=False,
        **({"datadir": args.data_dir} if args.data_dir else {}),
    )
    source = app.topic(args.source, key_serializer="raw", value_serializer="raw")
    sink = app.topic(args.sink, key_serializer="raw", value_serializer="raw")

    @app.agent(source, name="forward")
    async def forward(stream: faust.StreamT[Any]) -> None:
        async for event in cast(faust.Stream[Any], stream).events():
            message = event.message
            headers = list(message.headers or ())
            command_id = dict(headers).get("ce_id")
            await sink.send(
                key=message.key, value=message.value, headers=[*headers, ("ce_correlationid", command_id)]
            )

    worker = faust.Worker(app, quiet=True, override_logging=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
