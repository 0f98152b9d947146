"""Answer identity: the CloudEvents id (``ce_id``) of the one answer each command gets.

A command has exactly one terminal outcome, so its answer has one id, derived from the command id (and the
redrive it was reopened for, if any): a command answered twice, because a worker crashed after answering and
before committing, sends the same ``ce_id`` again, and every consumer can drop the second as a duplicate
(the CloudEvents rule: ``source`` + ``id`` identify an event). Undecodable input has no command id; its
error event is named after where the input was read.
"""

from __future__ import annotations

import uuid

__all__ = ["answer_event_id", "undecodable_event_id"]

# Fixed for ever: changing it would give replayed answers new ids.
_NAMESPACE = uuid.UUID("6f1d2c4e-8a0b-5c3d-9e7f-2a4b6c8d0e1f")


def answer_event_id(command_id: str, redrive: str | None = None) -> str:
    name = f"answer/{command_id}" if redrive is None else f"answer/{command_id}/redrive/{redrive}"
    return str(uuid.uuid5(_NAMESPACE, name))


def undecodable_event_id(topic: str, partition: int, offset: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"undecodable/{topic}/{partition}/{offset}"))
