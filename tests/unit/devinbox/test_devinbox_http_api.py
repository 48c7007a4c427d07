"""The HTTP API over a real loopback socket (aiohttp's TestServer), store inspected directly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devinbox.arrivals import Arrivals
from devinbox.http_api import MAX_BODY_BYTES, create_app
from devinbox.store import MessageStore, new_message

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(MessageStore(capacity=5)))) as test_client:
        yield test_client


async def test_post_sms_then_list(client: Client) -> None:
    response = await client.post("/sms", json={"to": "+14155550100", "body": "code is 1234"})
    assert response.status == 201
    created = await response.json()
    assert created["channel"] == "sms" and created["body"] == "code is 1234"

    listed = await (await client.get("/messages", params={"to": "+14155550100"})).json()
    assert [m["id"] for m in listed["messages"]] == [created["id"]]
    unencoded = await (await client.get("/messages?to=+14155550100")).json()  # + means space
    assert [m["id"] for m in unencoded["messages"]] == [created["id"]]
    other = await (await client.get("/messages", params={"to": "+14155550101"})).json()
    assert other["messages"] == []


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"to": "+14155550100"}, "invalid_parameter", "body"),
        ({"body": "x"}, "invalid_parameter", "to"),
        ({"to": 42, "body": "x"}, "invalid_parameter", "to"),
        ({"to": "+1", "body": ""}, "invalid_parameter", "body"),
        ({"to": "+1\n", "body": "x"}, "invalid_parameter", "to"),
        ({"to": "+1", "body": "x" * 1601}, "invalid_parameter", "body"),
        ({"to": "+1", "body": "x", "extra": 1}, "invalid_parameter", "extra"),
        (["to", "body"], "invalid_parameter", "body"),
    ],
)
async def test_bad_sms_is_a_400_problem(
    client: Client, payload: object, code: str, field: str
) -> None:
    response = await client.post("/sms", json=payload)
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert (problem["code"], problem["field"], problem["status"]) == (code, field, 400)
    assert (await (await client.get("/messages")).json())["messages"] == []


async def test_malformed_json_wrong_type_and_too_large(
    client: Client,
) -> None:
    headers = {"Content-Type": "application/json"}
    malformed = await client.post("/sms", data=b"{not json", headers=headers)
    assert malformed.status == 400
    assert (await malformed.json())["code"] == "malformed_json"

    wrong_type = await client.post("/sms", data=b"to=1", headers={"Content-Type": "text/plain"})
    assert wrong_type.status == 415

    huge = b'{"to": "+1", "body": "' + b"x" * MAX_BODY_BYTES + b'"}'
    too_large = await client.post("/sms", data=huge, headers=headers)
    assert too_large.status == 413
    assert (await too_large.json())["code"] == "payload_too_large"


async def test_unknown_path_and_method_are_problems(client: Client) -> None:
    assert (await (await client.get("/nope")).json())["code"] == "not_found"
    put = await client.put("/messages")
    assert put.status == 405
    assert (await put.json())["code"] == "method_not_allowed"


async def test_page_escapes_markup_and_refreshes(client: Client) -> None:
    await client.post("/sms", json={"to": "+1<b>", "body": "<script>alert(1)</script>"})
    response = await client.get("/")
    html = await response.text()
    assert response.status == 200
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "+1&lt;b&gt;" in html
    assert 'http-equiv="refresh"' in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


async def test_delete_and_healthz(client: Client) -> None:
    await client.post("/sms", json={"to": "+1", "body": "x"})
    assert (await client.delete("/messages")).status == 204
    assert (await (await client.get("/messages")).json())["messages"] == []
    assert (await (await client.get("/healthz")).json())["status"] == "ok"



async def test_an_sms_repeated_with_its_idempotency_key_is_stored_once(client: Client) -> None:
    sms = {"to": "+14155550100", "body": "code is 1234"}
    first = await client.post("/sms", json=sms, headers={"Idempotency-Key": "VE1.1-0"})
    again = await client.post("/sms", json=sms, headers={"Idempotency-Key": "VE1.1-0"})
    assert (first.status, again.status) == (201, 200)
    assert (await first.json())["id"] == (await again.json())["id"]
    listed = await (await client.get("/messages", params={"to": "+14155550100"})).json()
    assert len(listed["messages"]) == 1


async def test_wait_answers_when_the_message_arrives(client: Client) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.3)
        await client.post("/sms", json={"to": "+14155550101", "body": "not yours"})
        await asyncio.sleep(0.2)
        await client.post("/sms", json={"to": "+14155550100", "body": "code is 1234"})

    started = time.monotonic()
    poster = asyncio.create_task(post_later())
    response = await client.get("/messages", params={"to": "+14155550100", "wait": "10"})
    elapsed = time.monotonic() - started
    await poster
    assert response.status == 200
    assert [m["body"] for m in (await response.json())["messages"]] == ["code is 1234"]
    assert 0.45 <= elapsed < 3  # woken by its own message, not by the other one, nor by timeout


async def test_wait_returns_at_once_when_there_is_a_message(client: Client) -> None:
    await client.post("/sms", json={"to": "+14155550100", "body": "code is 1234"})
    started = time.monotonic()
    listed = await (await client.get("/messages?to=%2B14155550100&wait=10")).json()
    assert len(listed["messages"]) == 1 and time.monotonic() - started < 1


async def test_wait_ends_empty_after_its_time(client: Client) -> None:
    started = time.monotonic()
    listed = await (await client.get("/messages?to=%2B14155550100&wait=0.4")).json()
    assert listed["messages"] == [] and 0.4 <= time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("query", "field"),
    [("to=%2B1&wait=x", "wait"), ("to=%2B1&wait=-1", "wait"), ("to=%2B1&wait=31", "wait"),
     ("to=%2B1&wait=nan", "wait"), ("wait=1", "to")],
)
async def test_bad_wait_is_a_400_problem(client: Client, query: str, field: str) -> None:
    response = await client.get(f"/messages?{query}")
    assert response.status == 400
    assert (await response.json())["field"] == field


async def test_email_wakes_a_waiter_whatever_the_case() -> None:
    store = MessageStore()
    arrivals = Arrivals(store, asyncio.get_running_loop())
    waiting = asyncio.create_task(arrivals.newest_first("ada@example.com", 10))
    await asyncio.sleep(0.05)
    store.add(new_message("email", to="Ada@Example.COM", body="hi", sender="x@y.z", subject="s"))
    messages = await asyncio.wait_for(waiting, 2)
    assert [m.to for m in messages] == ["Ada@Example.COM"]


async def test_closing_answers_every_waiter() -> None:
    arrivals = Arrivals(MessageStore(), asyncio.get_running_loop())
    waiting = [asyncio.create_task(arrivals.newest_first(f"+1415555010{n}", 30)) for n in range(3)]
    await asyncio.sleep(0.05)
    arrivals.close()
    assert await asyncio.wait_for(asyncio.gather(*waiting), 2) == [[], [], []]
