"""The execution core: intents become orders, fills become positions, prices drive the exits.

Pure and deterministic: its inputs are recorded events (intents, the exchange's answers about
our orders, market rules, trades, ATR, activity drops, the kill switch, operator commands) and
its outputs are decisions (`OrderSubmitted`, `OrderCancelRequested`) and position events. It
never talks to an exchange: the broker worker places what it decides and records the answers,
which come back here as events (see docs/execution.md for the crash windows). Spot, long only:
a short intent is refused (closed unfilled) rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from breakout.common.events import (
    ActivityDropped,
    BookMetrics,
    IndicatorsUpdated,
    KillSwitchReset,
    KillSwitchTripped,
    MarketRulesObserved,
    MarketTrade,
    OrderAcknowledged,
    OrderCancelled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderFillReceived,
    OrderIntentApproved,
    OrderRejected,
    PositionCloseRequested,
    RecordedEvent,
    order_stream,
)
from breakout.common.presets import Preset
from breakout.common.runtime.core import Emit
from breakout.common.store.port import EventFilter
from breakout.execution import addon, exits, twap
from breakout.execution.addon import Trend
from breakout.execution.entries import entry_order
from breakout.execution.position import Position, dec

SUBJECTS = (
    "risk.approved.*.*",
    "risk.kill",
    "exec.order.fill.*",
    "exec.order.filled.*",
    "exec.order.cancelled.*",
    "exec.order.expired.*",
    "exec.order.rejected.*",
    "exec.order.acknowledged.*",
    "exec.market.*.*",
    "feat.book.*",
    "md.trade.*.*",
    "feat.indicators.*",
    "feat.activity.*",
    "ctl.close_position",
)


SNAPSHOT_VERSION = 1


class SnapshotMismatch(RuntimeError):
    """A snapshot in another format: refusing it beats forgetting open positions."""


class ExecutionSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The execution core's whole state."""

    version: int
    rules: dict[str, MarketRulesObserved]
    atr: dict[str, float]
    depth_usd: dict[str, float]
    trend: dict[str, Trend]
    positions: dict[str, Position]
    closed: list[str]
    kill_level: str | None


class ExecutionCore:
    """Orders and positions for the presets it is given."""

    subjects: tuple[str, ...] = SUBJECTS
    # Catch-up reads only the types handled here (the subjects alone would also read books).
    store_filter: EventFilter | None = EventFilter(
        types=tuple(
            t.type_tag()
            for t in (
                OrderIntentApproved,
                KillSwitchTripped,
                KillSwitchReset,
                OrderFillReceived,
                OrderFilled,
                OrderCancelled,
                OrderExpired,
                OrderRejected,
                OrderAcknowledged,
                MarketRulesObserved,
                MarketTrade,
                IndicatorsUpdated,
                ActivityDropped,
                BookMetrics,
                PositionCloseRequested,
            )
        )
    )

    def __init__(self, presets: Sequence[Preset]) -> None:
        self.presets = {p.name: p for p in presets}
        self.rules: dict[str, MarketRulesObserved] = {}
        self.atr: dict[str, float] = {}
        self.depth_usd: dict[str, float] = {}
        self.trend: dict[str, Trend] = {}
        self.positions: dict[str, Position] = {}
        self.closed: set[str] = set()  # ids of finished positions (their intents are done)
        self.kill_level: str | None = None

    def handle(self, event: RecordedEvent) -> Sequence[Emit]:
        """Fold one event; return the orders and position events it causes."""
        out = self._dispatch(event)
        for pid in [pid for pid, p in self.positions.items() if p.phase == "closed"]:
            del self.positions[pid]  # finished: only its id is kept, for idempotence
            self.closed.add(pid)
        return out

    def snapshot(self) -> bytes:
        """The whole state (msgpack)."""
        state = ExecutionSnapshot(
            version=SNAPSHOT_VERSION,
            rules=self.rules,
            atr=self.atr,
            depth_usd=self.depth_usd,
            trend=self.trend,
            positions=self.positions,
            closed=sorted(self.closed),
            kill_level=self.kill_level,
        )
        return msgspec.msgpack.encode(state)

    def restore(self, state: bytes) -> None:
        """Replace the state with a snapshot's; one in another format is refused (fail closed)."""
        try:
            snap = msgspec.msgpack.decode(state, type=ExecutionSnapshot)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise SnapshotMismatch(f"unreadable execution snapshot: {exc}") from exc
        if snap.version != SNAPSHOT_VERSION:
            raise SnapshotMismatch(
                f"execution snapshot v{snap.version}, expected v{SNAPSHOT_VERSION}"
            )
        self.rules, self.atr, self.depth_usd = snap.rules, snap.atr, snap.depth_usd
        self.trend, self.positions, self.closed = snap.trend, snap.positions, set(snap.closed)
        self.kill_level = snap.kill_level

    def _dispatch(self, event: RecordedEvent) -> Sequence[Emit]:
        match event.data:
            case OrderIntentApproved() as intent:
                return self._on_intent(intent)
            case OrderFillReceived() as fill:
                return self._on_fill(fill)
            case OrderAcknowledged() as ack:
                return self._on_ack(ack)
            case OrderFilled() | OrderCancelled() | OrderExpired() | OrderRejected() as done:
                return self._on_order_done(done)
            case MarketTrade() as trade:
                return self._on_price(trade.symbol, dec(trade.price), trade.exchange_ts_ms)
            case ActivityDropped(symbol=symbol, ts_ms=ts):
                return self._on_activity_drop(symbol, ts)
            case PositionCloseRequested(position_id=pid):
                return self._close_one(pid, "operator", _ms(event))
            case KillSwitchTripped(level=level, ts_ms=ts):
                self.kill_level = level
                return self._flatten(ts) if level == "flatten" else []
            case KillSwitchReset():
                self.kill_level = None
            case MarketRulesObserved() as rules:
                self.rules[rules.symbol] = rules
            case IndicatorsUpdated(symbol=symbol, timeframe="5m") as ind:
                if ind.atr:
                    self.atr[symbol] = ind.atr
                self.trend.setdefault(symbol, Trend()).update(ind.ema_fast, ind.obv)
            case BookMetrics(symbol=symbol, ask_usd_0_5pct=depth):
                self.depth_usd[symbol] = depth
            case _:
                pass
        return []

    # -- entries ------------------------------------------------------------------------------

    def _on_intent(self, intent: OrderIntentApproved) -> list[Emit]:
        if intent.intent_id in self.positions or intent.intent_id in self.closed:
            return []  # the same intent again: already acted on
        preset = self.presets.get(intent.preset)
        rules = self.rules.get(intent.symbol)
        refusal = _refusal(intent, preset, rules, self.kill_level)
        if refusal is not None or preset is None or rules is None:
            self.closed.add(intent.intent_id)
            return [exits.unfilled_close_for(intent, refusal or "no preset/rules")]
        position = Position(intent=intent, rules=rules)
        position.last_price = dec(intent.entry_price)
        self.positions[intent.intent_id] = position
        plan = twap.plan_for(intent, preset, rules.step_size)
        if plan is not None:
            position.twap, position.entry_type = plan, "ioc"
            depth = self.depth_usd.get(intent.symbol)
            return twap.next_slice(position, plan, preset, depth, position.last_price, intent.ts_ms)
        order = entry_order(intent, preset.execution_config, rules)
        position.entry_order_id = order.order_id
        position.entry_in_flight = True
        position.entry_type = order.order_type if order.time_in_force == "GTC" else "ioc"
        position.entry_limit = order.price
        return [Emit(stream=order_stream(order.order_id), event=order)]

    # -- the exchange's answers ---------------------------------------------------------------

    def _on_fill(self, fill: OrderFillReceived) -> list[Emit]:
        position = self._owner(fill.order_id)
        if position is None:
            return []
        if fill.order_id == position.entry_order_id:
            position.entry.add(fill, position.rules.base, position.rules.quote)
        elif fill.order_id == position.exit_order_id and position.exit_purpose == "add_on":
            position.book_add_fill(fill)
        elif fill.order_id == position.exit_order_id:
            position.book_exit_fill(fill)
        return []

    def _on_order_done(
        self, done: OrderFilled | OrderCancelled | OrderExpired | OrderRejected
    ) -> list[Emit]:
        position = self._owner(done.order_id)
        if position is None or position.phase == "closed":
            return []
        preset = self.presets[position.intent.preset]
        if done.order_id == position.entry_order_id and position.phase == "entering":
            position.entry_in_flight = False
            plan = position.twap
            if plan is not None and self.kill_level is not None:
                twap.stop(position, plan, f"kill switch ({self.kill_level})", done.ts_ms)
            if plan is not None and not plan.done():
                return []  # the next slice goes out on a print once it is due
            return self._open(position, preset, done.ts_ms)
        if done.order_id == position.exit_order_id:
            rejected = isinstance(done, OrderRejected)
            return exits.on_exit_done(position, preset, done.ts_ms, rejected=rejected)
        return []

    def _open(self, position: Position, preset: Preset, ts_ms: int) -> list[Emit]:
        out = exits.on_entry_done(position, preset, ts_ms)
        if self.kill_level == "flatten" and position.phase == "open":
            out += exits.exit_all(position, "flatten", None, ts_ms, force=True)
        return out

    def _on_ack(self, ack: OrderAcknowledged) -> list[Emit]:
        # Latency monitoring of TWAP slices: a slow venue ends the slicing.
        position = self._owner(ack.order_id)
        if position is None or position.twap is None or ack.latency_ms is None:
            return []
        limit = self.presets[position.intent.preset].risk.kill_switch.max_latency_ms
        if ack.latency_ms <= limit:
            return []
        reason = f"slice acknowledged in {ack.latency_ms:.0f} ms, over {limit} ms"
        return twap.stop(position, position.twap, reason, ack.ts_ms)

    # -- prices, time and operator commands ------------------------------------------------------

    def _on_price(self, symbol: str, price: Decimal, ts_ms: int) -> list[Emit]:
        out: list[Emit] = []
        for position in self._on_symbol(symbol):
            preset = self.presets[position.intent.preset]
            if position.phase == "entering" and position.twap is not None:
                out += self._twap_step(position, preset, price, ts_ms)
            elif position.phase == "entering":
                out += exits.check_entry(position, preset, price, ts_ms)
            elif position.phase == "open":
                atr = self.atr.get(symbol, position.intent.atr_5m)
                acted = exits.on_price(position, preset, price, ts_ms, atr)
                if not acted and position.exit_order_id is None and ts_ms > position.act_after_ms:
                    trend, depth = self.trend.get(symbol), self.depth_usd.get(symbol)
                    acted = addon.maybe_add(position, preset, price, trend, depth, ts_ms)
                out += acted
        return out

    def _twap_step(
        self, position: Position, preset: Preset, price: Decimal, ts_ms: int
    ) -> list[Emit]:
        plan = position.twap
        assert plan is not None
        if self.kill_level is not None and not position.entry_in_flight:
            twap.stop(position, plan, f"kill switch ({self.kill_level})", ts_ms)
        if not plan.done():
            return twap.next_slice(
                position, plan, preset, self.depth_usd.get(position.symbol), price, ts_ms
            )
        if position.entry_in_flight:
            return []
        return self._open(position, preset, ts_ms)

    def _on_activity_drop(self, symbol: str, ts_ms: int) -> list[Emit]:
        out: list[Emit] = []
        for position in self._on_symbol(symbol):
            preset = self.presets[position.intent.preset]
            if position.phase == "open" and preset.position_config.panic_exit_on_activity_drop:
                out += exits.exit_all(position, "panic", None, ts_ms)
        return out

    def _close_one(self, position_id: str, reason: str, ts_ms: int) -> list[Emit]:
        position = self.positions.get(position_id)
        if position is None or position.phase != "open":
            return []
        return exits.exit_all(position, reason, None, ts_ms)  # type: ignore[arg-type]

    def _flatten(self, ts_ms: int) -> list[Emit]:
        out: list[Emit] = []
        for position in list(self.positions.values()):
            if position.phase == "entering" and not position.entry_in_flight:
                if position.twap is not None:
                    out += twap.stop(position, position.twap, "kill switch (flatten)", ts_ms)
                    out += self._open(position, self.presets[position.intent.preset], ts_ms)
            elif position.phase == "entering":
                cancel = OrderCancelRequested(
                    order_id=position.entry_order_id,
                    exchange=position.intent.exchange,
                    symbol=position.symbol,
                    reason="kill switch: flatten",
                    ts_ms=ts_ms,
                )
                out.append(Emit(stream=order_stream(position.entry_order_id), event=cancel))
            elif position.phase == "open":
                out += exits.exit_all(position, "flatten", None, ts_ms, force=True)
        return out

    # -- lookups ------------------------------------------------------------------------------

    def _owner(self, order_id: str) -> Position | None:
        # Few positions are live at once: a scan beats keeping a second index in step.
        for position in self.positions.values():
            if position.phase != "closed" and order_id in (
                position.entry_order_id,
                position.exit_order_id,
            ):
                return position
        return None

    def _on_symbol(self, symbol: str) -> list[Position]:
        return [p for p in self.positions.values() if p.symbol == symbol and p.phase != "closed"]


def _refusal(
    intent: OrderIntentApproved,
    preset: Preset | None,
    rules: MarketRulesObserved | None,
    kill_level: str | None,
) -> str | None:
    if preset is None:
        return f"preset {intent.preset!r} not loaded by execution"
    if rules is None:
        return f"no market rules for {intent.symbol}"
    if kill_level is not None:
        return f"kill switch on ({kill_level})"
    if intent.side != "long":
        return "spot execution is long only"
    return None


def _ms(event: RecordedEvent) -> int:
    return int(event.occurred_at.timestamp() * 1000)
