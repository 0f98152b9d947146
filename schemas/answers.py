"""Answer identity: the CloudEvents id (``ce_id``) of the one answer each command gets.

A command has exactly one terminal outcome, so its answer has one id, derived from the command id (and the
redrive it was reopened for, if any): a command answered twice, because a worker crashed after answering and
before committing, sends the same ``ce_id`` again, and every consumer can drop the second as a duplicate
(the CloudEvents rule: ``source`` + ``id`` identify an event). Undecodable input has no command id; its
error event is named after where the input was read.
"""

from __future__ import annotations

import hashlib
import uuid

__all__ = ["answer_event_id", "undecodable_event_id"]

# Fixed for ever: changing it would give replayed answers new ids.
_NAMESPACE = uuid.UUID("6f1d2c4e-8a0b-5c3d-9e7f-2a4b6c8d0e1f")


def answer_event_id(command_id: str, redrive: str | None = None) -> str:
    name = f"answer/{command_id}" if redrive is None else f"answer/{command_id}/redrive/{redrive}"
    return _uuid5(name)


def undecodable_event_id(topic: str, partition: int, offset: int) -> str:
    return _uuid5(f"undecodable/{topic}/{partition}/{offset}")


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(_NAMESPACE, name))`` (RFC 4122 name-based, SHA-1) without the two UUID objects, one
    per answer (a third of the cost)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE.bytes + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
