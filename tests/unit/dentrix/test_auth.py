from __future__ import annotations

import pytest

from adapters.dentrix.auth import parse_token
from adapters.errors import PMSError


@pytest.mark.parametrize(
    ("body", "expires_at"),
    [
        ({"access_token": "t", "expires_in": "3599"}, 4599.0),
        ({"access_token": "t", "expires_in": 60}, 1060.0),
        ({"access_token": "t", "expires_in": "-5"}, 1000.0),
    ],
)
def test_parse_token(body: dict[str, object], expires_at: float) -> None:
    token = parse_token(body, now=1000.0)
    assert (token.value, token.expires_at) == ("t", expires_at)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"expires_in": "1"},
        {"access_token": "", "expires_in": "1"},
        {"access_token": "t"},
        {"access_token": "t", "expires_in": "soon"},
    ],
)
def test_parse_token_rejects(body: object) -> None:
    with pytest.raises(PMSError, match="token response"):
        parse_token(body, now=0.0)
