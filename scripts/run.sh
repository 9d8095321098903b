#!/usr/bin/env bash
# `make run`: the whole system on this machine until Ctrl-C (see `breakout run --help`).
# PRESET and EXCHANGE (sim | binance) come from the environment; empty ones take the defaults.
# Extra arguments go to `breakout run` (e.g. --only exchange_sim,relay,ingest --no-summary).
set -euo pipefail

[[ -n "${PRESET:-}" ]] || unset PRESET
[[ -n "${EXCHANGE:-}" ]] || unset EXCHANGE
# exec: the supervisor is this process, so Ctrl-C and SIGTERM reach it directly.
exec breakout run "$@"
