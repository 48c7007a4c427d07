#!/bin/sh
# Container entrypoint: put the Redis AUTH token (a Secrets Manager secret that ECS injects as
# REDIS_AUTH_TOKEN) into REDIS_URL, which is all the apps read, then become the process itself
# (exec, so it receives SIGTERM directly). The token is alphanumeric, so it needs no URL escaping.
set -eu
if [ -n "${REDIS_AUTH_TOKEN:-}" ]; then
  case "${REDIS_URL:-}" in
    *://*@*) ;;  # the URL already carries credentials: keep them
    rediss://*) REDIS_URL="rediss://:${REDIS_AUTH_TOKEN}@${REDIS_URL#rediss://}" ;;
    redis://*) REDIS_URL="redis://:${REDIS_AUTH_TOKEN}@${REDIS_URL#redis://}" ;;
    *) echo "entrypoint: REDIS_AUTH_TOKEN is set but REDIS_URL is not a redis(s):// URL" >&2; exit 64 ;;
  esac
  export REDIS_URL
fi
exec "$@"
