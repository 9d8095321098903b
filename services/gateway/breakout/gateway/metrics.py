"""The gateway's own Prometheus metrics (the runtime's cover its read models)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WS_CLIENTS = Gauge("breakout_gateway_ws_clients", "WebSocket clients connected")
WS_DROPPED = Counter("breakout_gateway_ws_dropped_total", "WebSocket clients dropped as too slow")
WS_FRAMES = Counter("breakout_gateway_ws_frames_total", "Frames sent to WebSocket clients")
WS_UNDECODABLE = Counter(
    "breakout_gateway_ws_undecodable_total", "Bus messages on bridged subjects with no envelope"
)
WS_REFUSED = Counter(
    "breakout_gateway_ws_refused_total", "WebSocket connections refused", ["reason"]
)
CTL_COMMANDS = Counter(
    "breakout_gateway_ctl_commands_total", "Operator commands recorded", ["kind"]
)
CTL_REPLAYS = Counter(
    "breakout_gateway_ctl_replays_total",
    "Operator commands refused as replays (an Idempotency-Key used before)",
    ["kind"],
)
