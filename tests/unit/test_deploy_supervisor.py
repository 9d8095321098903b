"""The pure parts of `make run`: the service plan, the restart backoff, the store summary."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from io import StringIO

import msgspec
import pytest
from rich.console import Console

from breakout.common.devstack.services import (
    RunOptions,
    ServiceSpec,
    parse_groups,
    parse_only,
    plan_services,
    resolve,
    selected,
)
from breakout.common.devstack.summary import StoreSummary, fields_of
from breakout.common.devstack.supervisor import Backoff
from breakout.common.events import StoredEvent
from breakout.features.config import FeaturesConfig

GROUPS = parse_groups("majors=BTCUSDT,ETHUSDT;alts=SOLUSDT")


def _ports() -> Callable[[], int]:
    counter = iter(range(30000, 31000))
    return lambda: next(counter)


def _plan(**options: object) -> dict[str, ServiceSpec]:
    plan = plan_services(RunOptions(groups=GROUPS, **options), _ports())  # type: ignore[arg-type]
    return {spec.name: spec for spec in plan.services}


def test_the_sim_plan_starts_the_simulator_first_and_one_ingest_per_group() -> None:
    specs = _plan(sim_api_key="k", sim_api_secret="s")
    names = list(specs)
    assert names[:4] == ["exchange-sim", "relay", "ingest-majors", "ingest-alts"]
    assert {"features", "regime", "signals", "risk", "execution", "gateway"} <= set(names)
    # A paper run has no exchange account for reconcile to compare the log with.
    assert "reconcile" not in names
    assert specs["execution"].argv[-4:-2] == ("--broker", "paper")
    sim = specs["exchange-sim"]
    assert "BTCUSDT,ETHUSDT,SOLUSDT" in sim.argv
    assert sim.env["SIM_API_KEY"] == "k"
    assert specs["ingest-alts"].argv[:3] == ("breakout-ingest", "--group", "alts")
    # Only what reads the exchange at start waits for it; the rest starts with it.
    waiting = {name for name, spec in specs.items() if spec.starts_after}
    assert waiting == {"ingest-majors", "ingest-alts", "regime", "execution"}
    assert all(specs[n].starts_after == ("exchange-sim",) for n in waiting)


def test_the_run_token_reaches_the_gateway_only_and_is_never_in_a_repr() -> None:
    token = "t" * 32
    plan = plan_services(RunOptions(groups=GROUPS, api_token=token), _ports())
    specs = {spec.name: spec for spec in plan.services}
    assert specs["gateway"].env["BREAKOUT_API_TOKEN"] == token
    others = [spec for name, spec in specs.items() if name != "gateway"]
    assert not any(token in repr(spec) for spec in others)
    assert token not in repr(plan.env) and token not in repr(plan)
    assert all(token not in arg for spec in plan.services for arg in spec.argv)  # not in `ps`
    assert plan.api_token == token  # printed once, with the dashboard link


def test_the_demo_runs_the_scenario_and_features_follow_the_preset() -> None:
    specs = _plan(preset="demo")
    sim_argv = specs["exchange-sim"].argv
    assert sim_argv[sim_argv.index("--scenario") + 1] == "demo"
    assert specs["features"].env["FEATURES_PRESET"] == "demo"
    none = _plan(sim_scenario="none")["exchange-sim"].argv
    assert none[none.index("--scenario") + 1] == "none"


def test_features_can_run_one_process_per_symbol_group() -> None:
    plan = plan_services(
        RunOptions(groups=GROUPS, features_per_group=True, preset="demo"), _ports()
    )
    specs = {spec.name: spec for spec in plan.services}
    names = {"features-majors", "features-alts", "features-unlisted"}
    assert {n for n in specs if n.startswith("features")} == names
    alts = specs["features-alts"].env
    assert (alts["FEATURES_GROUP"], alts["FEATURES_PRESET"]) == ("alts", "demo")
    # Each reads its symbols from the group table every service is given, as ingest does.
    config = FeaturesConfig.from_env({**plan.env, **alts})
    assert config.symbols == GROUPS["alts"]
    unlisted = FeaturesConfig.from_env({**plan.env, **specs["features-unlisted"].env})
    assert (unlisted.symbols, unlisted.exclude) == ((), (*GROUPS["majors"], *GROUPS["alts"]))


def test_every_service_gets_its_own_port() -> None:
    specs = _plan(gateway_port=0)
    urls = [spec.health_url for spec in specs.values()]
    assert len(set(urls)) == len(urls)


def test_the_binance_plan_has_no_simulator_and_no_loopback_exchange() -> None:
    plan = plan_services(RunOptions(groups=GROUPS, exchange="binance"), _ports())
    assert "exchange-sim" not in {spec.name for spec in plan.services}
    assert "EXCHANGE_BASE_URL" not in plan.env
    assert "MACRO_SIM_URL" not in plan.env
    assert plan.env["EXECUTION_MODE"] == "paper"


def test_a_missing_script_is_reported_with_its_reason() -> None:
    built = ServiceSpec("relay", ("breakout-no-such-script", "relay"))
    assert resolve(built)[0] is None
    assert "make install" in resolve(built)[1]
    found, reason = resolve(ServiceSpec("relay", ("breakout", "relay"), layer=1))
    assert found is not None and found.argv[0].endswith("/breakout") and found.layer == 1
    assert reason == ""


def test_only_selects_by_name_or_family() -> None:
    only = parse_only("ingest, exchange_sim")
    specs = _plan()
    chosen = {name for name, spec in specs.items() if selected(spec, only)}
    assert chosen == {"ingest-majors", "ingest-alts", "exchange-sim"}
    assert parse_only(" ") is None


@pytest.mark.parametrize("bad", ["", "majors", "a=BTCUSDT;a=ETHUSDT", "=BTCUSDT", "a="])
def test_bad_group_tables_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_groups(bad)


def test_backoff_doubles_on_quick_crashes_and_resets_after_a_long_run() -> None:
    backoff = Backoff(initial_s=1.0, max_s=8.0, reset_after_s=60.0)
    assert [backoff.delay(0.5) for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.delay(120.0) == 1.0


def _event(type_: str, data: dict[str, object], stream: str = "s-1") -> StoredEvent:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    return StoredEvent(
        position=1,
        stream=stream,
        version=1,
        event_id=uuid.uuid4(),
        type=type_,
        occurred_at=now,
        recorded_at=now,
        producer="test",
        data=msgspec.Raw(msgspec.json.encode(data)),
    )


def _summary() -> tuple[StoreSummary, StringIO]:
    out = StringIO()
    return StoreSummary(Console(file=out, width=200), interval_s=3600), out


def test_decisions_are_printed_one_by_one_and_market_data_only_counted() -> None:
    summary, out = _summary()
    summary.observe(_event("md.trade.v1", {"symbol": "BTCUSDT"}))
    summary.observe(_event("sig.raised.v1", {"symbol": "BTCUSDT", "side": "long"}))
    summary.observe(_event("exec.order_filled.v1", {"symbol": "BTCUSDT", "price": 1.25}))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "sig.raised.v1" in lines[0] and "symbol=BTCUSDT side=long" in lines[0]
    assert "exec.order_filled.v1" in lines[1] and "price=1.25" in lines[1]
    summary.flush()
    assert "md 1" in out.getvalue().splitlines()[-1]
    assert "3 since start" in out.getvalue()


def test_highlights_are_throttled_per_stream() -> None:
    summary, out = _summary()
    for _ in range(5):
        summary.observe(_event("feat.density_detected.v1", {"symbol": "ETHUSDT"}, "feat-ETH"))
    summary.observe(_event("feat.density_detected.v1", {"symbol": "SOLUSDT"}, "feat-SOL"))
    assert len(out.getvalue().splitlines()) == 2


def test_fields_of_skips_nested_values_and_shortens_floats() -> None:
    text = fields_of({"symbol": "X", "inputs": {"a": 1}, "price": 0.1 + 0.2, "qty": None})
    assert text == "symbol=X price=0.3"
    assert fields_of(["not", "a", "dict"]) == ""


def test_ingest_groups_on_one_machine_share_its_request_weight() -> None:
    # The exchange counts request weight per address: two groups, half of ingest's 5,000 each.
    plan = plan_services(RunOptions(groups=GROUPS), _ports())
    assert plan.env["INGEST_REST_WEIGHT_PER_MIN"] == "2500"
