"""The signals service's configuration: which preset, which venue, which symbol group.

SIGNALS_PRESET      preset name (presets/<name>.json) or a path to a preset file
SIGNALS_EXCHANGE    the venue name in the events (ingest's INGEST_VENUE), default binance
SIGNALS_SYMBOLS     A,B,C: run for this symbol group only (subjects filtered on it)
SIGNALS_GROUP       the group's name (names the durable consumer)
"""

from __future__ import annotations

import hashlib
import os

import msgspec

from breakout.common.presets import Preset, load_preset


class SignalsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What one signals instance runs: a preset on one venue, for all symbols or a group."""

    preset: str = "breakout_v1"
    exchange: str = "binance"
    symbols: tuple[str, ...] = ()
    group: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SignalsConfig:
        """Read the `SIGNALS_*` variables (see the module docstring)."""
        env = os.environ if environ is None else environ
        symbols = tuple(
            s.strip().upper() for s in env.get("SIGNALS_SYMBOLS", "").split(",") if s.strip()
        )
        return cls(
            preset=env.get("SIGNALS_PRESET", "breakout_v1").strip() or "breakout_v1",
            exchange=env.get("SIGNALS_EXCHANGE", "binance").strip() or "binance",
            symbols=symbols,
            group=env.get("SIGNALS_GROUP", "").strip() or None,
        )

    def load(self) -> Preset:
        """The preset, validated (a `PresetError` names what is wrong)."""
        return load_preset(self.preset)


def consumer_name(preset: Preset, config: SignalsConfig) -> str:
    """The durable consumer: one per preset and symbol group, so each keeps its checkpoint."""
    base = f"signals-{preset.name}"
    if not config.symbols:
        return base
    if config.group:
        return f"{base}-{config.group}"
    digest = hashlib.sha256(",".join(sorted(config.symbols)).encode()).hexdigest()[:10]
    return f"{base}-{digest}"
