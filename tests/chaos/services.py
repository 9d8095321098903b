"""The processes of a chaos session: exchange_sim, the relay and every service, as the
supervisor's `ServiceSpec`s (the same console scripts `breakout run` and the images start)."""

from __future__ import annotations

import msgspec

from breakout.common.devstack.processes import free_port
from breakout.common.devstack.services import ServiceSpec
from tests.chaos.session import (
    DECIDED,
    LIVE,
    LIVE_VENUE,
    OPENING,
    OURS,
    RECORDED_VENUE,
    Recording,
    script,
)

API_TOKEN = "chaos-token-0123456789abcdef"


def service_specs(recording: Recording, sim_port: int) -> list[ServiceSpec]:
    """exchange_sim, the relay and every service, in start order."""
    sim_url = f"http://127.0.0.1:{sim_port}"
    local = "http://127.0.0.1"
    preset = recording.preset.name
    specs = [
        ServiceSpec(
            "exchange-sim",
            (
                script("breakout-exchange-sim"),
                *("run", "--port", str(sim_port), "--seed", "7"),
                *("--symbols", ",".join((*LIVE, *DECIDED)), "--history-days", "0.01"),
                *("--balances", ",".join(f"{k}={v}" for k, v in OPENING.items())),
                *("--weight-limit", "0"),
            ),
            {"SIM_API_KEY": OURS[0], "SIM_API_SECRET": OURS[1]},
            health_url=f"{sim_url}/api/v3/ping",
            layer=0,
        )
    ]

    def health(name: str, argv: tuple[str, ...], env: dict[str, str], layer: int = 2) -> None:
        port = free_port()
        specs.append(
            ServiceSpec(
                name,
                (script(argv[0]), *argv[1:], "--health-port", str(port)),
                env,
                health_url=f"{local}:{port}/health",
                layer=layer,
            )
        )

    health("relay", ("breakout", "relay"), {}, layer=1)
    health(
        "ingest",
        ("breakout-ingest", "--group", "live"),
        {
            "INGEST_GROUPS": f"live={','.join(LIVE)}",
            "INGEST_VENUE": LIVE_VENUE,
            "INGEST_BOOK_INTERVAL_MS": "500",
            "INGEST_STALE_AFTER_S": "5",
        },
    )
    health(
        "features",
        ("breakout-features", "run"),
        {
            "FEATURES_CONFIG": msgspec.json.encode(recording.features).decode(),
            "FEATURES_SYMBOLS": ",".join(DECIDED),
        },
    )
    health(
        "signals",
        ("breakout-signals", "run"),
        {
            "SIGNALS_PRESET": preset,
            "SIGNALS_EXCHANGE": RECORDED_VENUE,
            "SIGNALS_SYMBOLS": ",".join(DECIDED),
        },
    )
    health("risk", ("breakout-risk", "run", "--preset", preset), {})
    health(
        "execution",
        (
            *("breakout-execution", "run", "--preset", preset),
            *("--symbols", ",".join(DECIDED), "--broker", "live"),
            "--i-understand-this-trades-real-money",
        ),
        {
            "EXECUTION_VENUE": RECORDED_VENUE,
            "EXECUTION_POLL_S": "0.2",
            "EXECUTION_BALANCE_EVERY_S": "3600",
        },
    )
    health(
        "reconcile",
        ("breakout-reconcile", "run", "--symbols", ",".join(DECIDED), "--interval-s", "5"),
        {"EXECUTION_VENUE": RECORDED_VENUE},
    )
    gateway_port = free_port()
    specs.append(
        ServiceSpec(
            "gateway",
            (script("breakout-gateway"), "run", "--port", str(gateway_port)),
            {"BREAKOUT_API_TOKEN": API_TOKEN},
            health_url=f"{local}:{gateway_port}/health",
            layer=3,
        )
    )
    return specs
