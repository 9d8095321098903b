"""The gateway's settings, from the environment (the API token is a secret: env only, never logged).

BREAKOUT_API_TOKEN            bearer token for control endpoints (and reads, the bridge)
BREAKOUT_API_PUBLIC_READS     "1": read endpoints and the bridge need no token (default "0")
BREAKOUT_GATEWAY_WS_ALLOW     comma-separated subject patterns the bridge may stream
BREAKOUT_GATEWAY_WS_QUEUE     frames a client may have waiting before it is dropped
BREAKOUT_GATEWAY_SERVICES     `name=http://host:port,...`: services whose /health is aggregated
BREAKOUT_GATEWAY_INSTANCE     suffix of this instance's consumer names (one per replica)
BREAKOUT_GATEWAY_VENDOR_DIR   where npm packages for the dashboard are cached
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

# Everything the dashboard needs and nothing of raw market data: trades and book snapshots
# run at thousands per second and would swamp a browser (and the gateway's fan-out).
DEFAULT_WS_ALLOW: tuple[str, ...] = (
    "feat.>",
    "regime.>",
    "news.>",
    "macro.>",
    "scan.>",
    "sig.>",
    "risk.>",
    "exec.>",
    "pos.>",
    "recon.>",
    "ctl.>",
    "dlq.>",
    "md.candle.>",
    "md.gap.>",
)


class ConfigError(ValueError):
    """A gateway setting is missing or malformed."""


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the gateway needs besides the store and the bus."""

    api_token: str | None
    public_reads: bool = False
    ws_allow: tuple[str, ...] = DEFAULT_WS_ALLOW
    ws_queue_frames: int = 1000
    ws_max_patterns: int = 32
    ws_max_clients: int = 500
    services: dict[str, str] = msgspec.field(default_factory=dict)
    instance: str = ""
    vendor_dir: Path = Path(".dev/ui-vendor")
    health_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        if self.api_token is not None and len(self.api_token) < 16:
            raise ConfigError("BREAKOUT_API_TOKEN must be at least 16 characters")
        if self.ws_queue_frames < 1:
            raise ConfigError("BREAKOUT_GATEWAY_WS_QUEUE must be >= 1")

    @property
    def control_enabled(self) -> bool:
        """Control endpoints work only with a token configured (fail closed)."""
        return self.api_token is not None

    @property
    def reads_public(self) -> bool:
        """Reads and the bridge need no token: asked for, or no token to check against."""
        return self.public_reads or self.api_token is None

    def consumer(self, model: str) -> str:
        """The durable consumer name of one read model of this instance."""
        # JetStream durable names may not contain dots.
        base = f"gateway-{model}"
        return f"{base}-{self.instance}" if self.instance else base

    @classmethod
    def from_env(cls) -> GatewaySettings:
        """Read the `BREAKOUT_API_*` / `BREAKOUT_GATEWAY_*` variables."""
        env = os.environ
        allow = env.get("BREAKOUT_GATEWAY_WS_ALLOW")
        return cls(
            api_token=env.get("BREAKOUT_API_TOKEN") or env.get("GATEWAY_TOKEN") or None,
            public_reads=env.get("BREAKOUT_API_PUBLIC_READS", "0") in ("1", "true", "yes"),
            ws_allow=tuple(_split(allow)) if allow else DEFAULT_WS_ALLOW,
            ws_queue_frames=int(env.get("BREAKOUT_GATEWAY_WS_QUEUE", "1000")),
            ws_max_clients=int(env.get("BREAKOUT_GATEWAY_WS_MAX_CLIENTS", "500")),
            services=parse_services(env.get("BREAKOUT_GATEWAY_SERVICES", "")),
            instance=env.get("BREAKOUT_GATEWAY_INSTANCE", ""),
            vendor_dir=Path(env.get("BREAKOUT_GATEWAY_VENDOR_DIR", ".dev/ui-vendor")),
        )


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def parse_services(raw: str) -> dict[str, str]:
    """`features=http://127.0.0.1:9101,regime=...` -> {name: base url}."""
    services: dict[str, str] = {}
    for part in _split(raw):
        name, sep, url = part.partition("=")
        if not sep or not name.strip() or not url.strip().startswith(("http://", "https://")):
            raise ConfigError(f"BREAKOUT_GATEWAY_SERVICES: expected name=http://..., got {part!r}")
        services[name.strip()] = url.strip().rstrip("/")
    return services
