"""Which recorded consumers a replay can re-run, and their cores built as the services build them.

Consumer names come from the checkpoints table: `features` / `features-<group>`,
`signals-<preset>[-<group>]`, `risk`, `execution`. A core's decisions depend on its configuration,
so the replay must be given the one the service ran with, the same way: `FEATURES_CONFIG` /
`FEATURES_PRESET` / `FEATURES_SYMBOLS` / `FEATURES_GROUP`, `SIGNALS_EXCHANGE` / `SIGNALS_SYMBOLS` /
`SIGNALS_GROUP`, and the presets (`--preset`, else `RISK_PRESETS`, default `breakout_v1`; a
signals consumer also finds its preset by the name in the consumer).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Literal

from breakout.common.presets import Preset, PresetError, load_preset
from breakout.common.runtime.core import Core
from breakout.execution.core import ExecutionCore
from breakout.features.app import consumer_name as features_consumer
from breakout.features.config import FeaturesConfig
from breakout.features.core import FeaturesCore
from breakout.risk.config import presets_from_env
from breakout.risk.core import RiskCore
from breakout.signals.config import SignalsConfig
from breakout.signals.config import consumer_name as signals_consumer
from breakout.signals.core import SignalsCore
from breakout.signals.mlmodel import preset_model

Service = Literal["features", "signals", "risk", "execution"]
SERVICES: tuple[Service, ...] = ("features", "signals", "risk", "execution")


class CoreUnavailable(ValueError):
    """A consumer's core cannot be built as it ran (a configuration is missing or differs)."""


def service_of(consumer: str) -> Service | None:
    """The service a consumer name belongs to (None: not one a replay re-runs)."""
    if consumer == "features" or consumer.startswith("features-"):
        return "features"
    if consumer.startswith("signals-"):
        return "signals"
    if consumer in ("risk", "execution"):
        return consumer  # type: ignore[return-value]
    return None


def build_core(
    consumer: str, presets: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> Core:
    """The core `consumer` ran, configured from `presets` (names or paths) and the environment."""
    env = dict(os.environ if environ is None else environ)
    try:
        loaded = [load_preset(name) for name in presets]
        match service_of(consumer):
            case "features":
                return _features(consumer, env)
            case "signals":
                return _signals(consumer, loaded, env)
            case "risk":
                return RiskCore(loaded or _env_presets(env))
            case "execution":
                return ExecutionCore(loaded or _env_presets(env))
            case None:
                raise CoreUnavailable(f"{consumer}: not a core a replay re-runs")
    except (PresetError, ValueError) as exc:
        if isinstance(exc, CoreUnavailable):
            raise
        raise CoreUnavailable(f"{consumer}: {exc}") from exc


def _env_presets(env: dict[str, str]) -> list[Preset]:
    names = [n for n in env.get("RISK_PRESETS", "breakout_v1").split(",") if n.strip()]
    return presets_from_env(names)


def _features(consumer: str, env: dict[str, str]) -> FeaturesCore:
    config = FeaturesConfig.from_env(env)
    ran_as = features_consumer(config, env.get("FEATURES_GROUP"))
    if ran_as != consumer:
        raise CoreUnavailable(
            f"{consumer}: this configuration runs as {ran_as!r}; set FEATURES_SYMBOLS and "
            "FEATURES_GROUP as the service ran"
        )
    return FeaturesCore(config)


def _signals(consumer: str, presets: list[Preset], env: dict[str, str]) -> SignalsCore:
    config = SignalsConfig.from_env(env)
    candidates = list(presets)
    if not candidates:
        # `signals-<preset>` (no group): the preset's name is the rest of the consumer's.
        name = consumer.removeprefix("signals-")
        candidates = [load_preset(name)] if not config.symbols else [config.load()]
    for preset in candidates:
        if signals_consumer(preset, config) == consumer:
            return SignalsCore(preset, config.exchange, config.symbols, ml=preset_model(preset))
    raise CoreUnavailable(
        f"{consumer}: no preset given runs as this consumer (pass --preset, and SIGNALS_SYMBOLS "
        "/ SIGNALS_GROUP as the service ran)"
    )
