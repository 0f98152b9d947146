"""Answer ids are RFC 4122 name-based (SHA-1) UUIDs, fixed for ever: the same as uuid.uuid5 would give."""

from __future__ import annotations

import uuid

import pytest

from schemas.answers import _NAMESPACE, answer_event_id, undecodable_event_id

COMMAND_ID = "3b0c5d1e-8f2a-4c6b-9d7e-1a2b3c4d5e6f"


@pytest.mark.parametrize(
    ("made", "name"),
    [
        (answer_event_id(COMMAND_ID), f"answer/{COMMAND_ID}"),
        (answer_event_id(COMMAND_ID, "r-1"), f"answer/{COMMAND_ID}/redrive/r-1"),
        (answer_event_id("", None), "answer/"),
        (answer_event_id("ü-non-ascii"), "answer/ü-non-ascii"),
        (undecodable_event_id("pms.commands", 3, 1234), "undecodable/pms.commands/3/1234"),
    ],
)
def test_ids_are_uuid5_of_the_name(made: str, name: str) -> None:
    assert made == str(uuid.uuid5(_NAMESPACE, name))


def test_an_id_never_changes() -> None:
    # Replayed answers keep their ce_id across releases: this value is part of the contract.
    assert answer_event_id(COMMAND_ID) == "30ecd4ba-3fc4-59f6-8cfe-556108b9f50c"
    assert uuid.UUID(answer_event_id(COMMAND_ID)).version == 5
