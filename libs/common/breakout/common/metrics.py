"""Prometheus metrics every process application exports (labelled by consumer)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_IN = Counter("breakout_events_in_total", "Events handled by a consumer", ["consumer"])
EVENTS_SKIPPED = Counter(
    "breakout_events_skipped_total", "Redelivered events skipped (already processed)", ["consumer"]
)
EVENTS_OUT = Counter(
    "breakout_events_out_total", "Events a consumer appended to the store", ["consumer"]
)
DEAD_LETTERS = Counter(
    "breakout_dead_letters_total", "Messages a consumer dead-lettered", ["consumer", "kind"]
)
HANDLER_SECONDS = Histogram(
    "breakout_handler_seconds",
    "Time from receipt to commit of one event",
    ["consumer"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
LAG_EVENTS = Gauge(
    "breakout_consumer_lag_events", "Store head minus the consumer's checkpoint", ["consumer"]
)
RELAYED = Counter("breakout_relay_published_total", "Events the relay published", ["relay"])
RELAY_LAG = Gauge("breakout_relay_lag_events", "Store head minus the relay cursor", ["relay"])
RELAY_BUS_FAILURES = Counter(
    "breakout_relay_bus_failures_total", "Bus failures the relay recovered from", ["relay"]
)
