"""Options several commands share, declared once: the same flag, variable, default and help everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["BootstrapServers", "TopicPrefix", "WorkersAppId"]

BootstrapServers = Annotated[
    str,
    typer.Option(
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka bootstrap servers (security: the KAFKA_* variables, deploy/README.md).",
    ),
]
TopicPrefix = Annotated[
    str, typer.Option(envvar="PMS_RELAY_TOPIC_PREFIX", help="Topic name prefix, e.g. 'staging.'.")
]
# For tools that read what the workers did: their group's offsets and their changelogs are named after it.
WorkersAppId = Annotated[
    str, typer.Option(envvar="PMS_RELAY_APP_ID", help="The workers' --app-id (their consumer group).")
]
