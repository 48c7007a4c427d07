"""A test-only target: forwards every request to one upstream (a real service) and answers a
share of them with 500 instead, as a new side with a bug would. Tests set the share at run
time: `POST /__fault/ratio` with the share as its body ("0.05"); `/readyz` is always passed on.

    python -m tests.support.faulty_proxy --upstream http://127.0.0.1:8003 --port 9003
"""

from __future__ import annotations

import argparse
import random
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

RATIO: web.AppKey[list[float]] = web.AppKey("ratio", list)
SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("session", aiohttp.ClientSession)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


async def set_ratio(request: web.Request) -> web.Response:
    ratio = float(await request.text())
    if not 0 <= ratio <= 1:
        raise web.HTTPBadRequest(text="a share in [0, 1]")
    request.app[RATIO][0] = ratio
    return web.Response(text=f"{ratio}\n")


async def forward(request: web.Request) -> web.Response:
    body = await request.read()
    if request.path != "/readyz" and random.random() < request.app[RATIO][0]:
        return web.json_response({"type": "urn:test:injected", "status": 500}, status=500)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    async with request.app[SESSION].request(request.method, request.app["upstream"]
                                            + request.path_qs, data=body,
                                            headers=headers) as answer:
        payload = await answer.read()
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return web.Response(body=payload, status=answer.status, headers=kept)


def create_app(upstream: str) -> web.Application:
    app = web.Application()
    app["upstream"] = upstream.rstrip("/")
    app[RATIO] = [0.0]

    async def session(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = aiohttp.ClientSession(auto_decompress=False)
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(session)
    app.router.add_post("/__fault/ratio", set_ratio)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(create_app(args.upstream), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
