"""adapters.http.paths: every id is one percent-encoded path segment, and httpx sends it as built."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest

from adapters.errors import ValidationFailed
from adapters.http.paths import path, request_url

FILLED = [
    ("42", "42"),
    ("a/b", "a%2Fb"),
    ("x?y=1", "x%3Fy%3D1"),
    ("a#b", "a%23b"),
    ("a b", "a%20b"),
    ("%2F", "%252F"),
    ("%2E%2E", "%252E%252E"),
    (".", "%2E"),
    ("..", "%2E%2E"),
    ("...", "%2E%2E%2E"),
    ("../patients", "..%2Fpatients"),
    ("1/..", "1%2F.."),
    ("a.b", "a.b"),
    ("~x_-.", "~x_-."),
    ("1;v=2", "1%3Bv%3D2"),
    ("u@h:1", "u%40h%3A1"),
    ("é", "%C3%A9"),
    ("\x00", "%00"),
]


@pytest.mark.parametrize(("value", "segment"), FILLED)
def test_a_value_is_one_encoded_segment(value: str, segment: str) -> None:
    assert path("/patients/{id}", id=value) == f"/patients/{segment}"


@pytest.mark.parametrize(("value", "segment"), FILLED)
def test_httpx_sends_the_segment_as_built(value: str, segment: str) -> None:
    # httpx removes dot segments and cuts at ? and #: the built path must come out of it unchanged.
    request = httpx.Client(base_url="http://pms.test/api/v1").build_request("GET", path("/x/{id}", id=value))
    assert request.url.raw_path == f"/api/v1/x/{segment}".encode()
    assert unquote(request.url.raw_path.decode().rsplit("/", 1)[1]) == value


@pytest.mark.parametrize(
    ("template", "params", "expected"),
    [
        ("/patients", {}, "/patients"),
        ("/practices/{id}/chairs", {"id": "7"}, "/practices/7/chairs"),
        ("/practices/{id}/chairs", {"id": "7/x"}, "/practices/7%2Fx/chairs"),
        ("/a/{first}/b/{second}", {"first": "..", "second": "?"}, "/a/%2E%2E/b/%3F"),
    ],
)
def test_templates_take_each_parameter_once(template: str, params: dict[str, str], expected: str) -> None:
    assert path(template, **params) == expected


def test_an_empty_id_is_the_callers_validation_error() -> None:
    with pytest.raises(ValidationFailed) as info:
        path("/patients/{id}", id="")
    assert info.value.message == "id: an id must not be empty"


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("/patients/{id}", {}),  # missing: would send the template
        ("/patients", {"id": "7"}),  # unused: would send a listing instead of a record
        ("/patients/{id}", {"record_id": "7"}),
        ("/patients?id={id}", {"id": "7"}),  # a query in the route would be in every label
        ("/patients/{id}#x", {"id": "7"}),
    ],
)
def test_a_template_that_does_not_fit_its_parameters_is_a_programming_error(
    template: str, params: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match=r"^route /patients"):
        path(template, **params)


QUERIES = [
    None,
    {},
    {"filter": ""},
    {"filter": "lastName==O'Brien;dob>=1980-02-29", "pageSize": 500},
    {"q": "a/b c&d=e?f#g", "empty": "", "none": None, "flag": True, "n": 0},
    {"name": "Zoë \U0001d518", "pct": "100%", "plus": "a+b", "tilde": "~"},
    {"PatNums": ["1", "2"], "Offset": 100},
]


@pytest.mark.parametrize("base", ["http://pms.test", "https://pms.test:8443/api/v1/", "http://127.0.0.1:9"])
@pytest.mark.parametrize("params", QUERIES)
@pytest.mark.parametrize("value", [value for value, _ in FILLED])
def test_the_url_parsed_once_is_the_one_httpx_builds(
    base: str, params: dict[str, object] | None, value: str
) -> None:
    client = httpx.Client(base_url=base)
    sent = path("/patients/{id}", id=value)
    built = client.build_request("GET", sent, params=params).url
    once = request_url(client.base_url, sent, params)
    assert once == built
    assert (str(once), once.raw_path) == (str(built), built.raw_path)


@pytest.mark.parametrize("base", ["http://pms.test", "https://pms.test:8443/api/v1/"])
@pytest.mark.parametrize("params", [None, {"filter": "a b"}])
@pytest.mark.parametrize(
    "sent",
    [
        "/patients/a%2Fb",
        "/api v1/patients",  # a space: httpx quotes it
        "/patients/%zz",  # not an escape: httpx quotes the %
        "/a/./b",  # dot segments: httpx removes them
        "/a/../b",
        "/.well-known/x",
        "/a;b=c/d:e@f/(g)!*~",  # characters a path holds as they are
        "/a|b^c`d{e}",  # characters httpx quotes
    ],
)
def test_a_path_built_without_a_parse_is_the_one_httpx_builds(
    base: str, params: dict[str, object] | None, sent: str
) -> None:
    client = httpx.Client(base_url=base)
    built = client.build_request("GET", sent, params=params).url
    once = request_url(client.base_url, sent, params)
    assert (str(once), once.raw_path, once.host, once.port) == (
        str(built),
        built.raw_path,
        built.host,
        built.port,
    )
