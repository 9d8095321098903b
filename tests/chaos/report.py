"""What a chaos run must show, checked on each run and between the clean run and the faulty one.

Each run on its own:
    no event id twice in the store; the bus holds every stored position once, in store order;
    every consumer's checkpoint reaches the last event it selects (the relay: the store's head);
    no client order id twice at the exchange, none there that the log did not submit;
    the exchange's balances equal the opening balances plus the fills in the log (per asset).
Against the clean reference (the same recorded inputs, the same cores in memory):
    the features and signals services, whose inputs are the recording alone, derived the same
    events, id for id and field for field.
Between a clean run of the processes and the faulty one (`make chaos`):
    risk and execution decided every input both runs hold under the same derived id, of the
    same kind, except where the faults tripped the kill switch and risk denied what it approved
    in the clean run (failing closed); no order under faults that the clean run did not place.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from breakout.common.events import (
    KillSwitchTripped,
    OrderDenied,
    OrderFillReceived,
    OrderSubmitted,
    RecordedEvent,
    SymbolQuarantined,
)
from tests.chaos.harness import Outcome
from tests.chaos.session import OPENING

# Producers whose inputs are the recording alone: their outputs must match field for field.
PURE = ("features", "signals")
# Producers whose decisions also read the exchange's answers (balances, fills): same ids.
DECIDING = ("risk", "execution")
BALANCE_TOLERANCE = Decimal("1e-8")
DENIED = "risk.order_denied.v1"


@dataclass
class Report:
    """Problems found (empty: the run passed) and the figures worth printing."""

    problems: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)


def _family(producer: str) -> str:
    return producer.split("-", 1)[0]


def check_run(label: str, outcome: Outcome) -> list[str]:
    """The invariants one run must hold on its own."""
    problems = []
    events = outcome.events
    ids = Counter(e.event_id for e in events)
    if dup := [i for i, n in ids.items() if n > 1]:
        problems.append(f"{label}: {len(dup)} event ids stored twice")
    positions = [e.position for e in events]
    if outcome.bus_positions != positions:
        extra = Counter(outcome.bus_positions) - Counter(positions)
        missing = Counter(positions) - Counter(outcome.bus_positions)
        problems.append(
            f"{label}: bus != store ({len(outcome.bus_positions)} vs {len(positions)} messages,"
            f" {sum(extra.values())} extra, {sum(missing.values())} missing)"
        )
    for consumer, head in outcome.selected_heads.items():
        if outcome.checkpoints.get(consumer, 0) < head:
            problems.append(
                f"{label}: {consumer} stopped at {outcome.checkpoints.get(consumer)} < {head}"
            )
    submitted = {e.data.order_id for e in events if isinstance(e.data, OrderSubmitted)}
    at_exchange = Counter(o.get("clientOrderId") for o in outcome.orders)
    if twice := [c for c, n in at_exchange.items() if n > 1]:
        problems.append(f"{label}: orders placed twice at the exchange: {twice}")
    if unknown := set(at_exchange) - submitted:
        problems.append(f"{label}: orders at the exchange the log never submitted: {unknown}")
    problems += _balances(label, events, outcome.balances)
    return problems


def _balances(label: str, events: list[RecordedEvent], balances: dict[str, Decimal]) -> list[str]:
    fills = [e.data for e in events if isinstance(e.data, OrderFillReceived)]
    if dup := [k for k, n in Counter((f.order_id, f.trade_id) for f in fills).items() if n > 1]:
        return [f"{label}: fills recorded twice: {dup}"]
    expected: dict[str, Decimal] = dict(OPENING)
    for fill in fills:
        base = fill.symbol.removesuffix("USDT")
        sign = 1 if fill.side == "buy" else -1
        expected[base] = expected.get(base, Decimal(0)) + sign * fill.qty
        expected["USDT"] = expected.get("USDT", Decimal(0)) - sign * fill.quote_qty
        expected[fill.fee_asset] = expected.get(fill.fee_asset, Decimal(0)) - fill.fee
    problems = []
    for asset in sorted(set(expected) | set(balances)):
        want, got = expected.get(asset, Decimal(0)), balances.get(asset, Decimal(0))
        if abs(want - got) > BALANCE_TOLERANCE:
            problems.append(f"{label}: {asset} at the exchange {got}, the log says {want}")
    return problems


def _pure_outputs(events: list[RecordedEvent]) -> set[tuple[str, str, bytes]]:
    return {
        (str(e.event_id), e.type, msgspec.json.encode(e.data, order="sorted"))
        for e in events
        if _family(e.producer) in PURE
    }


def _first_difference(
    missing: set[tuple[str, str, bytes]], unexpected: set[tuple[str, str, bytes]]
) -> str:
    """The first missing output beside what the run holds under the same id (if anything)."""
    if not missing:
        return f"unexpected {sorted(unexpected)[0][:2]}"
    event_id, kind, data = sorted(missing)[0]
    twin = next((d for i, _k, d in unexpected if i == event_id), None)
    if twin is None:
        return f"{kind} {event_id} is missing"
    want, got = msgspec.json.decode(data), msgspec.json.decode(twin)
    fields = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    return f"{kind} {event_id} differs in " + ", ".join(
        f"{k}: {str(want.get(k))[:300]} != {str(got.get(k))[:300]}" for k in fields
    )


def _decisions_on_shared_inputs(
    events: list[RecordedEvent], shared: set[object]
) -> set[tuple[str, str]]:
    return {
        (str(e.event_id), e.type)
        for e in events
        if _family(e.producer) in DECIDING and e.causation_id in shared
    }


def compare(reference: list[RecordedEvent], chaos: Outcome, clean: Outcome | None) -> Report:
    """Every check of each run, then the runs against the reference and each other."""
    report = Report()
    report.problems += check_run("chaos", chaos)
    wanted, got = _pure_outputs(reference), _pure_outputs(chaos.events)
    if wanted != got:
        report.problems.append(
            f"features/signals outputs differ from the clean reference: {len(wanted - got)}"
            f" missing, {len(got - wanted)} unexpected (of {len(wanted)}); first: "
            + _first_difference(wanted - got, got - wanted)
        )
    report.figures = {
        "pure_outputs_compared": len(wanted),
        "signals_generated": sum(e.type == "sig.signal_generated.v1" for e in reference),
    }
    if clean is None:
        return report
    report.problems += check_run("clean", clean)
    if _pure_outputs(clean.events) != wanted:
        report.problems.append("the clean run's features/signals outputs differ from the reference")
    report.problems += _same_decisions(clean, chaos, report)
    return report


def _same_decisions(clean: Outcome, chaos: Outcome, report: Report) -> list[str]:
    """Risk and execution decide on each input both runs hold (same id, same type) under the
    same derived id. Their kind may differ in one way only: the faults tripped the kill switch
    (a gap storm, the exchange unreachable), or a gap storm quarantined the symbol, and risk
    denied what it approved in the clean run —
    the system failing closed; what the clean run then did with that order (its cancel, its
    fills) has no counterpart under faults. No order is placed under faults that the clean run
    did not place."""
    kinds_clean = {e.event_id: e.type for e in clean.events}
    kinds_chaos = {e.event_id: e.type for e in chaos.events}
    shared = {i for i, kind in kinds_clean.items() if kinds_chaos.get(i) == kind}
    decided_clean = {uuid.UUID(i): k for i, k in _decisions_on_shared_inputs(clean.events, shared)}
    decided_chaos = {uuid.UUID(i): k for i, k in _decisions_on_shared_inputs(chaos.events, shared)}
    tripped = [e.data for e in chaos.events if isinstance(e.data, KillSwitchTripped)]
    automatic = any(k.trigger != "operator" for k in tripped)
    # A gap storm on one symbol quarantines that symbol's entries instead (docs/risk.md).
    quarantines = [e.data for e in chaos.events if isinstance(e.data, SymbolQuarantined)]
    quarantined = bool(quarantines)
    data_chaos = {e.event_id: e.data for e in chaos.events}
    problems, failed_closed = [], set()
    for event_id in decided_clean.keys() & decided_chaos.keys():
        if decided_clean[event_id] == decided_chaos[event_id]:
            continue
        denial = data_chaos[event_id]
        if isinstance(denial, OrderDenied) and (
            (denial.limit == "kill_switch" and automatic)
            or (denial.limit == "symbol_gap_storm" and quarantined)
        ):
            failed_closed.add(event_id)
        else:
            problems.append(f"{event_id}: {decided_clean[event_id]} clean, {denial.type_tag()}")
    # Orders the clean run placed from intents the faulty run denied: theirs alone.
    theirs = {
        e.data.order_id
        for e in clean.events
        if isinstance(e.data, OrderSubmitted) and e.causation_id in failed_closed
    }
    data_clean = {e.event_id: e.data for e in clean.events}
    for event_id in decided_clean.keys() - decided_chaos.keys():
        if getattr(data_clean[event_id], "order_id", None) not in theirs:
            problems.append(f"{event_id}: {decided_clean[event_id]} only in the clean run")
    for event_id in decided_chaos.keys() - decided_clean.keys():
        problems.append(f"{event_id}: {decided_chaos[event_id]} only under faults")
    orders_clean = {e.data.order_id for e in clean.events if isinstance(e.data, OrderSubmitted)}
    orders_chaos = {e.data.order_id for e in chaos.events if isinstance(e.data, OrderSubmitted)}
    if extra := orders_chaos - orders_clean:
        problems.append(f"orders under faults that the clean run did not place: {extra}")
    if missing := orders_clean - orders_chaos - theirs:
        problems.append(f"orders of the clean run missing under faults: {missing}")
    report.figures |= {
        "risk_execution_decisions_compared": len(decided_clean),
        "denied_by_the_kill_switch_under_faults": len(failed_closed),
        "kill_switch_trips": [f"{k.trigger}: {k.reason}" for k in tripped],
        "symbol_quarantines": sorted({q.symbol for q in quarantines}),
        "orders_compared": len(orders_clean),
    }
    return [f"risk/execution: {p}" for p in problems]


def render(report: Report, chaos: Outcome, clean: Outcome | None, recorded: int) -> str:
    """The comparison report, as printed by the test and written to CHAOS_REPORT."""

    def by_producer(outcome: Outcome) -> str:
        counts = Counter(_family(e.producer) for e in outcome.events)
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))

    def decided(outcome: Outcome) -> str:
        counts = Counter(
            e.type
            for e in outcome.events
            if _family(e.producer) in ("signals", "reconcile", *DECIDING)
        )
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))

    runs = [("chaos", chaos)] + ([("clean", clean)] if clean is not None else [])
    lines = ["chaos run report", f"recorded market events: {recorded}"]
    for label, run in runs:
        denied = [f"{e.data.limit}: {e.data.reason}" for e in run.events if e.type == DENIED]
        lines += [
            f"{label}: {len(run.events)} events ({by_producer(run)}); timings {run.timings_s}",
            f"{label} decisions: {decided(run)}",
            f"{label} denials: {denied}",
            f"{label} orders at the exchange: {len(run.orders)}",
        ]
    heads = {k: (chaos.checkpoints.get(k), v) for k, v in chaos.selected_heads.items()}
    lines += [
        f"faults injected: {sum(chaos.faults.values())} {dict(sorted(chaos.faults.items()))}",
        f"restarts per service: {chaos.restarts}",
        f"compared: {report.figures}",
        f"checkpoints/heads (chaos): {heads}",
        "problems: " + ("none" if not report.problems else ""),
        *(f"  - {p}" for p in report.problems),
        "fault log (s since start, kind, detail):",
        *(f"  {t:7.1f} {kind:10} {detail}" for t, kind, detail in chaos.fault_log),
    ]
    return "\n".join(lines)
