#!/bin/sh
# Container entrypoint: put the component's Redis password (a Secrets Manager secret that ECS
# injects as REDIS_PASSWORD) into REDIS_URL, which is all the apps read, then become the process
# itself (exec, so it receives SIGTERM directly). The URL names the component's Redis user
# (rediss://send@host:6379/0); a URL without a user gets the password alone (an AUTH token).
# The password is alphanumeric, so it needs no URL escaping.
set -eu
if [ -n "${REDIS_PASSWORD:-}" ]; then
  case "${REDIS_URL:-}" in
    redis://*|rediss://*) ;;
    *) echo "entrypoint: REDIS_PASSWORD is set but REDIS_URL is not a redis(s):// URL" >&2; exit 64 ;;
  esac
  scheme="${REDIS_URL%%://*}"
  rest="${REDIS_URL#*://}"
  case "${rest%%/*}" in
    *:*@*) ;;  # the URL already carries a password: keep it
    *@*) REDIS_URL="${scheme}://${rest%%@*}:${REDIS_PASSWORD}@${rest#*@}" ;;
    *) REDIS_URL="${scheme}://:${REDIS_PASSWORD}@${rest}" ;;
  esac
  export REDIS_URL
fi
exec "$@"
