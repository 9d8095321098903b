#!/usr/bin/env bash
# `make run`, inside `breakout dev run` (DATABASE_URL and NATS_URL point at a live stack):
# migrate the store, then run the relay and a tail of the store side by side until Ctrl-C.
set -euo pipefail

breakout db migrate
breakout relay &
relay=$!
# Background jobs of a script ignore Ctrl-C, so the relay is stopped here when the tail ends.
trap 'kill -TERM "$relay" 2>/dev/null || true; wait "$relay" || true' EXIT
breakout store tail
