"""What the gateway refuses before any rule, as an ALB listener does (raw sockets, since a client
library would not send these): size limits 400, TRACE 405, unsupported Transfer-Encoding 501,
more than 30 X-Forwarded-For addresses 463; and the X-Forwarded-For processing modes."""

from __future__ import annotations

import asyncio
import json

import pytest

from routing.gateway.alb_settings import AlbSettings, XffMode
from routing.gateway.listener import MAX_HEADER, MAX_HEADERS, MAX_REQUEST_LINE

from .conftest import StartGateway


async def _send(url: str, request: bytes) -> tuple[int, bytes, bytes]:
    port = int(url.rsplit(":", 1)[1].rstrip("/"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def _get(target: bytes = b"/api/users", headers: bytes = b"", method: bytes = b"GET") -> bytes:
    return (method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers
            + b"\r\n")


def _target_of_line(length: int) -> bytes:
    """A path that makes "GET <path> HTTP/1.1" exactly `length` bytes."""
    return b"/api/users/" + b"a" * (length - len(b"GET  HTTP/1.1") - len(b"/api/users/"))


def _is_alb_page(head: bytes, body: bytes, heading: bytes) -> bool:
    return b"Server: awselb/2.0" in head and b"<h1>" + heading + b"</h1>" in body


async def test_the_request_line_may_be_16k_and_no_more(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    status, _, _ = await _send(gw.url, _get(_target_of_line(MAX_REQUEST_LINE)))
    assert status == 200
    status, head, body = await _send(gw.url, _get(_target_of_line(MAX_REQUEST_LINE + 1)))
    assert status == 400 and _is_alb_page(head, body, b"400 Bad Request")


async def test_one_header_may_be_16k_and_all_of_them_64k(start_gateway: StartGateway) -> None:
    gw = await start_gateway()

    def header(name: bytes, line_length: int) -> bytes:  # "Name: value" of that many bytes
        return name + b": " + b"v" * (line_length - len(name) - 2) + b"\r\n"

    assert (await _send(gw.url, _get(headers=header(b"X-Big", MAX_HEADER))))[0] == 200
    status, head, body = await _send(gw.url, _get(headers=header(b"X-Big", MAX_HEADER + 1)))
    assert status == 400 and _is_alb_page(head, body, b"400 Bad Request")
    # Host and Connection lines are there too: fill up to the 64K total exactly, then one more.
    base = len(b"Host: x\r\nConnection: close\r\n")
    fill = [header(f"X-Fill-{i}".encode(), 16000 - 2) for i in range(4)]
    rest = MAX_HEADERS - base - sum(len(f) for f in fill) - 2
    fitting = b"".join(fill) + header(b"X-Last", rest)
    answer = await _send(gw.url, _get(headers=fitting))
    assert answer[0] == 200, answer[1:]
    over = b"".join(fill) + header(b"X-Last", rest + 1)
    status, head, body = await _send(gw.url, _get(headers=over))
    assert status == 400 and _is_alb_page(head, body, b"400 Bad Request")


async def test_what_even_the_parser_refuses_gets_albs_page(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    status, head, body = await _send(gw.url, _get(_target_of_line(3 * MAX_REQUEST_LINE)))
    assert status == 400 and _is_alb_page(head, body, b"400 Bad Request")
    status, head, body = await _send(gw.url, b"NOT HTTP AT ALL\r\n\r\n")
    assert status == 400 and _is_alb_page(head, body, b"400 Bad Request")


async def test_trace_is_refused_with_405(start_gateway: StartGateway) -> None:
    status, head, body = await _send((await start_gateway()).url, _get(method=b"TRACE"))
    assert status == 405 and _is_alb_page(head, body, b"405 Method Not Allowed")


@pytest.mark.parametrize("coding", [b"gzip", b"gzip, chunked", b"compress"])
async def test_a_transfer_encoding_other_than_chunked_is_501(start_gateway: StartGateway,
                                                             coding: bytes) -> None:
    gw = await start_gateway()
    request = _get(method=b"POST", headers=b"Transfer-Encoding: " + coding + b"\r\n") + b"0\r\n\r\n"
    status, head, body = await _send(gw.url, request)
    assert status == 501 and _is_alb_page(head, body, b"501 Not Implemented")


async def test_a_chunked_body_is_forwarded(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    request = _get(method=b"POST", headers=b"Transfer-Encoding: chunked\r\n") + \
        b"5\r\nhello\r\n0\r\n\r\n"
    status, _, body = await _send(gw.url, request)
    assert status == 200 and json.loads(body)["body"] == "hello"


def _forwarded_for(count: int) -> bytes:
    return b"X-Forwarded-For: " + b", ".join(f"203.0.113.{i}".encode()
                                             for i in range(count)) + b"\r\n"


async def test_more_than_30_forwarded_for_addresses_is_463(start_gateway: StartGateway) -> None:
    gw = await start_gateway()
    status, _, body = await _send(gw.url, _get(headers=_forwarded_for(30)))
    assert status == 200
    assert json.loads(body)["headers"]["X-Forwarded-For"].count(",") == 30  # and the peer
    status, head, body = await _send(gw.url, _get(headers=_forwarded_for(31)))
    assert status == 463 and _is_alb_page(head, body, b"463")
    # Two header lines count together.
    two_lines = _forwarded_for(16) + _forwarded_for(15)
    assert (await _send(gw.url, _get(headers=two_lines)))[0] == 463


@pytest.mark.parametrize(("mode", "incoming", "forwarded"), [
    ("append", "203.0.113.9", "203.0.113.9, 127.0.0.1"),
    ("append", None, "127.0.0.1"),
    ("preserve", "203.0.113.9", "203.0.113.9"),
    ("preserve", None, None),
    ("remove", "203.0.113.9", None),
])
async def test_forwarded_for_processing_modes(start_gateway: StartGateway, mode: XffMode,
                                              incoming: str | None,
                                              forwarded: str | None) -> None:
    gw = await start_gateway(alb=AlbSettings(xff_mode=mode))
    headers = f"X-Forwarded-For: {incoming}\r\n".encode() if incoming else b""
    status, _, body = await _send(gw.url, _get(headers=headers))
    assert status == 200
    assert json.loads(body)["headers"].get("X-Forwarded-For") == forwarded


async def test_refusals_are_problem_json_when_set(start_gateway: StartGateway) -> None:
    gw = await start_gateway(alb=AlbSettings(error_body="problem"))
    status, _, body = await _send(gw.url, _get(headers=_forwarded_for(31)))
    assert status == 463
    assert json.loads(body)["type"] == "urn:problem:gateway:too_many_forwarded_for"
    status, _, body = await _send(gw.url, _get(method=b"POST",
                                               headers=b"Transfer-Encoding: gzip\r\n"))
    assert status == 501 and json.loads(body)["code"] == "not_implemented"
