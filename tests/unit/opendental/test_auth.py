"""The ODFHIR key pair: one header, never expiring, never refreshed, never printed."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from adapters.errors import Unauthorized
from adapters.opendental.auth import OdfhirKeys, odfhir_auth


async def test_the_key_pair_is_the_authorization() -> None:
    keys = OdfhirKeys(SecretStr("dev"), SecretStr("cust"))
    async with httpx.AsyncClient() as client:
        pair = await keys.get(client)
        assert odfhir_auth(pair) == {"Authorization": "ODFHIR dev/cust"}
        assert await keys.get(client) == pair  # no expiry: never fetched again


async def test_a_refused_pair_is_final() -> None:
    keys = OdfhirKeys(SecretStr("dev"), SecretStr("cust"))
    async with httpx.AsyncClient() as client:
        pair = await keys.get(client)
        with pytest.raises(Unauthorized) as refused:
            await keys.refresh(client, stale=pair)
    assert refused.value.http_status == 401
    assert not refused.value.retryable


def test_keys_never_print() -> None:
    keys = OdfhirKeys(SecretStr("dev-secret"), SecretStr("cust-secret"))
    assert "secret" not in repr(keys._source)
