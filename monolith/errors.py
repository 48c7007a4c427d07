"""Every failure becomes application/problem+json; request metrics are counted here too."""

from __future__ import annotations

import logging
import traceback

import redis
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from monolith.extensions import CLUSTER_UNAVAILABLE, is_cluster_outage
from monolith.metrics import REQUESTS
from monolith.problems import Problem
from monolith.web import problem_response

logger = logging.getLogger("monolith")

HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def handle_problem(problem: Problem) -> Response:
    return problem_response(problem)


def handle_http(error: HTTPException) -> Response:
    code = HTTP_CODES.get(error.code or 500)
    if code is None:
        code = "malformed_json" if error.code == 400 else "internal_error"
    extra = {name: value for name, value in error.get_headers() if name.lower() == "allow"}
    return problem_response(Problem(code), extra)


def handle_redis_down(error: Exception) -> Response:
    if not is_cluster_outage(error):  # the cluster client refused a command: a bug
        return handle_unexpected(error)
    logger.warning("Redis unavailable on %s %s: %s", request.method, request.path,
                   type(error).__name__)
    return problem_response(Problem("service_unavailable", retry_after_ms=1000))


def handle_redis_full(error: redis.exceptions.OutOfMemoryError) -> Response:
    # maxmemory reached under `noeviction`: Redis refuses writes (a script at its first write,
    # before it changed anything) until memory is freed; reads still answer.
    logger.warning("Redis refused a write on %s %s: out of memory (maxmemory)", request.method,
                   request.path)
    return problem_response(Problem("service_unavailable", retry_after_ms=1000))


def handle_unexpected(error: Exception) -> Response:
    # The message may quote request data (a code): log the type and the frames, not the message.
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error("unexpected %s on %s %s\n%s", type(error).__name__, request.method,
                 request.path, frames)
    return problem_response(Problem("internal_error"))


def count_request(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    REQUESTS.labels(method=request.method, route=route, status=str(response.status_code)).inc()
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(redis.ConnectionError, handle_redis_down)
    app.register_error_handler(redis.TimeoutError, handle_redis_down)
    app.register_error_handler(redis.ReadOnlyError, handle_redis_down)  # a failover in progress
    for cluster_error in CLUSTER_UNAVAILABLE:  # a failover or a slot moving, in a cluster
        app.register_error_handler(cluster_error, handle_redis_down)
    app.register_error_handler(redis.exceptions.OutOfMemoryError, handle_redis_full)
    # Redis Cluster: a slot moving or a node down that the client's own retries did not absorb
    for cluster_error in (redis.exceptions.ClusterError, redis.exceptions.AskError,
                          redis.exceptions.TryAgainError, redis.exceptions.RedisClusterException):
        app.register_error_handler(cluster_error, handle_redis_down)
    app.register_error_handler(Exception, handle_unexpected)
    app.after_request(count_request)
