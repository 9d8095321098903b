"""What `breakout run` starts: one declarative entry per service, in start order.

Adding a service is one `ServiceSpec` in `plan_services`. An entry whose console script is not
installed is not started: `resolve` says so, and the supervisor prints it (the services still
being built on other branches show up that way until they land).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from breakout.common.groups import UNLISTED
from breakout.common.groups import parse_groups as shared_parse_groups

Exchange = Literal["sim", "binance"]

DEFAULT_SYMBOL_GROUPS = (
    "majors=BTCUSDT,ETHUSDT,SOLUSDT,BNBUSDT;alts=XRPUSDT,DOGEUSDT,ADAUSDT,AVAXUSDT"
)
DEFAULT_PRESET = "breakout_v1"
# On exchange_sim, `make run` trades the demo preset on the demo scenario (presets/demo.json,
# exchange_sim's demo.py): breakout_v1's rules on one-minute bars, so a trade shows in minutes.
DEMO_PRESET = "demo"
SIM_SCENARIOS = ("demo", "none")
DEFAULT_GATEWAY_PORT = 8080
# Exit code of a usage error (typer / click): a wrong command line, which a restart cannot fix.
USAGE_ERROR = 2


@dataclass(frozen=True)
class ServiceSpec:
    """One process to run: its command, its own environment and how to tell it is ready."""

    name: str
    argv: tuple[str, ...]  # argv[0] is a console script of the workspace
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # holds keys and tokens
    health_url: str | None = None  # ready once a GET answers 200
    # Being built on another branch: when its script is missing, say so rather than "broken".
    # What others depend on has a lower layer: stopping goes from the highest layer down, so
    # clients leave before the exchange and the relay they talk to.
    layer: int = 2
    # Started once these (by name, when they run) answer their health check: only what the
    # service cannot start without. Store and bus are up before any service starts, and every
    # consumer catches up from the store, so most services start at once.
    starts_after: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOptions:
    """The knobs of `make run` / `breakout run`."""

    preset: str = DEFAULT_PRESET
    exchange: Exchange = "sim"
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    gateway_port: int = DEFAULT_GATEWAY_PORT
    sim_seed: int = 7
    sim_speed: float = 1.0
    sim_api_key: str = ""
    sim_api_secret: str = ""
    sim_scenario: str = "demo"
    # The gateway's bearer token for this run (never logged: it reaches the gateway's env only).
    api_token: str = ""
    # One features process per symbol group (as ingest runs) rather than one for every symbol:
    # what hundreds of symbols need (docs/operations.md, "Capacity").
    features_per_group: bool = False

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol of every group, in group order."""
        return tuple(s for symbols in self.groups.values() for s in symbols)


@dataclass(frozen=True)
class Plan:
    """The services to start, the shared environment and where the dashboard will be."""

    services: tuple[ServiceSpec, ...]
    env: Mapping[str, str]
    dashboard_url: str
    api_token: str = field(default="", repr=False)  # the run's own, when it made one


def parse_groups(text: str) -> dict[str, tuple[str, ...]]:
    """`majors=BTCUSDT,ETHUSDT;alts=SOLUSDT` as a group table; a dev run lists every symbol."""
    groups = shared_parse_groups(text)
    empty = [name for name, symbols in groups.items() if not symbols]
    if empty:
        raise ValueError(f"symbol group {empty[0]!r} lists no symbol: 'name=SYM1,SYM2'")
    return groups


def groups_spec(groups: Mapping[str, tuple[str, ...]]) -> str:
    """The `INGEST_GROUPS` text of a group table (`a=X,Y;b=Z`)."""
    return ";".join(f"{name}={','.join(symbols)}" for name, symbols in groups.items())


INGEST_REST_WEIGHT_PER_MIN = 5000


def plan_services(options: RunOptions, free_port: Callable[[], int]) -> Plan:
    """Every service of the system, with ports taken from `free_port`, in start order."""
    local = "http://127.0.0.1"
    gateway_port = options.gateway_port or free_port()
    shared = {
        "BREAKOUT_PRESET": options.preset,
        "INGEST_GROUPS": groups_spec(options.groups),
        # The groups share this machine's address, and the exchange counts request weight per
        # address: each takes its share of ingest's budget (5,000 of Binance's 6,000 a minute).
        "INGEST_REST_WEIGHT_PER_MIN": str(
            INGEST_REST_WEIGHT_PER_MIN // max(1, len(options.groups))
        ),
        "EXECUTION_MODE": "paper",  # live trading needs its own explicit flag, never `make run`
        "GATEWAY_URL": f"{local}:{gateway_port}",
    }
    specs: list[ServiceSpec] = []
    if options.exchange == "sim":
        sim_port = free_port()
        sim_url = f"{local}:{sim_port}"
        # Every client of the exchange reaches the simulator with the run's own demo account.
        shared |= {
            "EXCHANGE_BASE_URL": sim_url,
            "EXCHANGE_API_KEY": options.sim_api_key,
            "EXCHANGE_API_SECRET": options.sim_api_secret,
            "MACRO_SIM_URL": sim_url,
            "SIM_URL": sim_url,
        }
        sim_argv = [
            *("breakout-exchange-sim", "run", "--host", "127.0.0.1", "--port", str(sim_port)),
            *("--symbols", ",".join(options.symbols), "--seed", str(options.sim_seed)),
            *("--speed", str(options.sim_speed), "--scenario", options.sim_scenario),
        ]
        sim_env = {"SIM_API_KEY": options.sim_api_key, "SIM_API_SECRET": options.sim_api_secret}
        specs.append(
            ServiceSpec(
                "exchange-sim",
                tuple(sim_argv),
                sim_env,
                health_url=f"{sim_url}/api/v3/ping",
                layer=0,
            )
        )

    def health(name: str, argv: tuple[str, ...], env: Mapping[str, str] | None = None,
               *, layer: int = 2, after: tuple[str, ...] = ()) -> ServiceSpec:  # fmt: skip
        port = free_port()
        full_env = {"HEALTH_PORT": str(port), **(env or {})}
        return ServiceSpec(
            name,
            (*argv, "--health-port", str(port)),
            full_env,
            health_url=f"{local}:{port}/health",
            layer=layer,
            starts_after=after,
        )

    # What needs the exchange at start (markets, rules, the macro feeds) waits for it; the
    # rest starts with it, so imports overlap the simulator's start-up.
    exchange = ("exchange-sim",)
    specs.append(health("relay", ("breakout", "relay"), layer=1))
    for group in options.groups:
        specs.append(
            health(f"ingest-{group}", ("breakout-ingest", "--group", group), after=exchange)
        )
    # Features read their levels timeframe and walls from the preset, as signals do.
    specs += _features(options, health)
    # The demo polls the (simulated) feeds often, so a regime shows up in minutes, not hours.
    feeds = {"MACRO_POLL_INTERVAL_S": "120", "NEWS_POLL_INTERVAL_S": "30"}
    specs.append(health("regime", ("breakout-regime", "run"), feeds, after=exchange))
    preset = ("--preset", options.preset)
    symbols = ("--symbols", ",".join(options.symbols))
    specs.append(health("signals", ("breakout-signals", "run"), {"SIGNALS_PRESET": options.preset}))
    specs.append(health("risk", ("breakout-risk", "run", *preset)))
    paper = ("--broker", "paper")
    execution = ("breakout-execution", "run", *preset, *symbols, *paper)
    specs.append(health("execution", execution, after=exchange))
    # Reconcile is not started: it compares an exchange account with the log, and a paper run's
    # orders and fills never reach an exchange (the paper account is itself a projection of the
    # log), so there is nothing to compare; see docs/operations.md.
    gateway_argv = ("breakout-gateway", "run", "--host", "127.0.0.1", "--port", str(gateway_port))
    gateway_env = {"GATEWAY_PORT": str(gateway_port)}
    if options.api_token:
        gateway_env["BREAKOUT_API_TOKEN"] = options.api_token
    specs.append(
        ServiceSpec(
            "gateway",
            gateway_argv,
            gateway_env,
            health_url=f"{local}:{gateway_port}/health",
            layer=3,
        )
    )
    return Plan(
        tuple(specs),
        shared,
        dashboard_url=f"{local}:{gateway_port}/ui",
        api_token=options.api_token,
    )


def script_path(name: str) -> str | None:
    """Where the console script `name` is: beside this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def resolve(spec: ServiceSpec) -> tuple[ServiceSpec | None, str]:
    """The spec with an absolute argv[0], or None and the reason it cannot start."""
    found = script_path(spec.argv[0])
    if found is not None:
        return dataclasses.replace(spec, argv=(found, *spec.argv[1:])), ""
    return None, f"`{spec.argv[0]}` is not installed: run `make install`"


def parse_only(text: str) -> frozenset[str] | None:
    """`--only relay,ingest` as a set of names (None: everything)."""
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    return names or None


def _features(options: RunOptions, health: Callable[..., ServiceSpec]) -> list[ServiceSpec]:
    """One features process, or one per symbol group (each its own durable consumer, filtered
    on the symbols its group lists in `INGEST_GROUPS`) and one for the symbols no group lists
    (those the scanner asks ingest for at run time)."""
    argv, env = ("breakout-features", "run"), {"FEATURES_PRESET": options.preset}
    if not options.features_per_group:
        return [health("features", argv, env)]
    groups = [*options.groups, UNLISTED]
    return [health(f"features-{g}", argv, {**env, "FEATURES_GROUP": g}) for g in groups]


def selected(spec: ServiceSpec, only: frozenset[str] | None) -> bool:
    """True when `only` is unset, names the service, or names its family (`ingest`)."""
    if only is None:
        return True
    names = {name.replace("_", "-") for name in only}
    return spec.name in names or spec.name.split("-", 1)[0] in names
