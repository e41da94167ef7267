"""Reading a batch's body into sub-requests (pure: no server, no database)."""

from typing import Any

import pytest

from tessera.core.errors import InvalidInput
from tessera.web.batch_requests import SubRequest, read_batch


def problems_of(document: Any) -> dict[str, Any]:
    with pytest.raises(InvalidInput) as raised:
        read_batch(document)
    return raised.value.problems.as_json()


def codes(document: Any, name: str) -> dict[str, list[str]]:
    """``{"url": ["invalid_url"], …}`` for one request of the batch."""
    node = problems_of(document)["fields"]["requests"]["fields"][name]
    found = {"": [e["code"] for e in node.get("errors", [])]} if "errors" in node else {}
    for field, child in node.get("fields", {}).items():
        found[field] = [e["code"] for e in child.get("errors", [])] or sorted(
            e["code"] for grandchild in child["fields"].values() for e in grandchild["errors"]
        )
    return found


def test_urls_are_made_paths_of_the_api() -> None:
    subrequests = read_batch(
        {"requests": {"a": "/me", "b": "people?page=2", "c": "/api/v2/me", "d": "api/v2/me"}}
    )

    assert [(s.name, s.raw_path, s.query) for s in subrequests] == [
        ("a", "/api/v2/me", ""),
        ("b", "/api/v2/people", "page=2"),
        ("c", "/api/v2/me", ""),
        ("d", "/api/v2/me", ""),
    ]


def test_an_object_has_a_method_a_body_params_and_headers() -> None:
    spec = {
        "url": "/people?page=1",
        "method": "post",
        "payload": {"name": "Ada"},
        "params": {"count": 5, "flag": True, "q": "a b"},
        "headers": {"X-DeskPRO-Agent-ID": "7"},
    }

    [sub] = read_batch({"requests": {"add": spec}})

    assert sub == SubRequest(
        name="add",
        method="POST",
        raw_path="/api/v2/people",
        query="page=1&count=5&flag=true&q=a%20b",
        body=b'{"name":"Ada"}',
        headers=(("x-deskpro-agent-id", "7"),),
    )


def test_deskpros_data_is_the_body_too() -> None:
    [sub] = read_batch({"requests": {"a": {"url": "/me", "method": "PUT", "data": [1]}}})

    assert sub.body == b"[1]"


def test_payload_and_data_together_are_refused() -> None:
    document = {"requests": {"a": {"url": "/me", "payload": {}, "data": {}}}}

    assert codes(document, "a") == {"data": ["invalid"]}


@pytest.mark.parametrize(
    "url",
    [
        "https://other.example/api/v2/me",
        "//other.example/me",
        "/me#top",
        "/me/../../login",
        "/me/%2e%2e/x",
        "/me\\x",
        "/me x",
        "/mé",
        "/" + "a" * 2001,
        5,
    ],
)
def test_urls_that_leave_the_api_are_refused(url: Any) -> None:
    assert codes({"requests": {"a": {"url": url}}}, "a") == {"url": ["invalid_url"]}


@pytest.mark.parametrize("url", ["/batch", "/api/v2/batch/", "/api/v2/20161122/batch", "b%61tch"])
def test_a_batch_in_a_batch_is_refused(url: str) -> None:
    assert codes({"requests": {"a": url}}, "a") == {"url": ["nested_batch"]}


def test_a_search_for_a_url_is_not_a_url_elsewhere() -> None:
    [sub] = read_batch({"requests": {"a": "/people?search=https://x.example/a"}})

    assert sub.query == "search=https://x.example/a"


@pytest.mark.parametrize(
    "spec",
    [
        {"url": "/me?api-key=1:ABC"},
        {"url": "/me", "params": {"API-TOKEN": "1:ABC"}},
        {"url": "/me", "headers": {"Cookie": "tessera_session=x"}},
        {"url": "/me", "headers": {"Sec-Fetch-Site": "same-origin"}},
        {"url": "/me", "headers": {"X-Forwarded-For": "10.0.0.1"}},
        {"url": "/me", "headers": {"x-deskpro-api-token": "1:ABC"}},
    ],
)
def test_a_sub_request_cannot_bring_its_own_credential(spec: dict[str, Any]) -> None:
    found = codes({"requests": {"a": spec}}, "a")

    assert list(found.values()) == [["own_credential"]]


@pytest.mark.parametrize("name", ["Content-Type", "content-length", "Host", "Transfer-Encoding"])
def test_the_batch_writes_the_message_headers_itself(name: str) -> None:
    document = {"requests": {"a": {"url": "/me", "headers": {name: "x"}}}}

    assert codes(document, "a") == {"headers": ["set_by_the_batch"]}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"url": "/me", "params": ["count", 1]}, "params"),
        ({"url": "/me", "params": {"count": [1]}}, "params"),
        ({"url": "/me", "headers": "X-A: 1"}, "headers"),
        ({"url": "/me", "headers": {"X A": "1"}}, "headers"),
        ({"url": "/me", "headers": {"X-A": "line\nbreak"}}, "headers"),
        ({"url": "/me", "method": 1}, "method"),
    ],
)
def test_malformed_parts_are_invalid(spec: dict[str, Any], field: str) -> None:
    assert codes({"requests": {"a": spec}}, "a") == {field: ["invalid"]}


@pytest.mark.parametrize("document", [None, [], {"requests": ["/me"]}, {"requests": "/me"}])
def test_a_batch_is_an_object_of_requests(document: Any) -> None:
    assert set(problems_of(document)["fields"]) == {"requests"}


def test_an_empty_batch_is_fine() -> None:
    assert read_batch({"requests": {}}) == []
