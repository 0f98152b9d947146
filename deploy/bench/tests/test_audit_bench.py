"""The audit benchmark's templates make valid envelopes: the project's codec reads back the spliced ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deploy.bench.audit_bench import command_id, templates, varint
from schemas.codec import Codec


@pytest.mark.parametrize(("value", "encoded"), [(0, b"\x00"), (-1, b"\x01"), (1, b"\x02"), (64, b"\x80\x01")])
def test_varint_is_avros_zigzag(value: int, encoded: bytes) -> None:
    assert varint(value) == encoded


def test_filled_templates_decode_to_the_spliced_id_and_instant() -> None:
    codec = Codec()
    t = templates(codec)
    micros = 1_795_000_000_654_321
    at = datetime.fromtimestamp(micros / 1e6, UTC)
    cid = command_id(123_456)
    value, headers = t["command"].fill(cid, micros)
    command = codec.decode_command(value, headers, b"smile-nyc")
    assert (str(command.command_id), command.issued_at) == (cid, at)
    assert dict(headers)["ce_id"] == cid.encode()
    value, headers = t["result"].fill(cid, micros, "answer-1")
    result = codec.decode_result(value, headers, b"smile-nyc")
    assert (str(result.command_id), result.completed_at, dict(headers)["ce_id"]) == (cid, at, b"answer-1")
    value, headers = t["error"].fill(cid, micros, "answer-2")
    error = codec.decode_error(value, headers, b"smile-nyc")
    assert (str(error.command_id), error.failed_at, dict(headers)["ce_correlationid"]) == (
        cid,
        at,
        cid.encode(),
    )
