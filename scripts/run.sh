#!/usr/bin/env bash
# `make run`, inside `breakout dev run` (DATABASE_URL and NATS_URL point at a live stack):
# migrate the store, then run the relay and a tail of the store side by side until Ctrl-C.
set -euo pipefail

breakout db migrate

pids=()
breakout relay &
pids+=($!)
breakout store tail &
pids+=($!)

# Background jobs of a script ignore Ctrl-C, so this script stops them: on Ctrl-C/SIGTERM,
# or as soon as either ends (a relay that dies must not leave a tail that looks healthy).
trap 'kill -TERM "${pids[@]}" 2>/dev/null || true; wait || true' EXIT
trap 'exit 130' INT TERM
wait -n
