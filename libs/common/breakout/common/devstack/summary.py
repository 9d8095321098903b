"""A readable running summary of the store for the terminal of `make run`.

It follows the store (the source of truth, so it shows what was recorded, not what some process
claims), prints each trading decision as one line (scans, signals, risk, orders, fills,
positions, regime changes, dead letters) and, every few seconds, how much market data and
features arrived. Payloads are read as JSON: the supervisor needs no service's event classes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape

from breakout.common.events import StoredEvent
from breakout.common.store.postgres import PostgresEventStore

# Every event of these domains is a line of its own: they are what a newcomer came to see.
DECISIONS = ("scan.", "sig.", "risk.", "exec.", "pos.", "recon.", "ctl.", "ops.")
# These are printed too, at most once per symbol and type per `THROTTLE_S`.
HIGHLIGHTS = (
    "regime.changed",
    "regime.capital_flow",
    "news.classified",
    "macro.feed_failed",
    "md.gap",
    "feat.density_detected",
    "feat.activity_dropped",
)
THROTTLE_S = 30.0
FIELDS = (
    "symbol", "preset", "side", "state", "previous_state", "status", "rank", "score",
    "price", "price_low", "qty", "quantity", "filled_qty", "usd", "strength", "stop_price",
    "confidence", "reason", "filter", "source", "sentiment", "title",
)  # fmt: skip
COLOURS = {"sig": "bold green", "exec": "bold magenta", "pos": "magenta", "scan": "cyan",
           "risk": "yellow", "regime": "blue", "ops": "bold red", "md": "red"}  # fmt: skip


def fields_of(data: Any, limit: int = 6) -> str:
    """`key=value` for the first few telling scalar fields of a payload."""
    if not isinstance(data, dict):
        return ""
    shown = []
    for key in FIELDS:
        value = data.get(key)
        if value is None or isinstance(value, dict | list):
            continue
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        shown.append(f"{key}={text if len(text) <= 60 else text[:57] + '...'}")
        if len(shown) == limit:
            break
    return " ".join(shown)


class StoreSummary:
    """Turns stored events into terminal lines: decisions one by one, the rest as counts."""

    def __init__(self, console: Console, interval_s: float = 10.0) -> None:
        self.console = console
        self.interval_s = interval_s
        self.counts: Counter[str] = Counter()
        self.total = 0
        self._last_shown: dict[tuple[str, str], float] = {}
        self._last_flush = time.monotonic()

    def observe(self, event: StoredEvent) -> None:
        """Count an event, and print it if it is a decision or a (throttled) highlight."""
        self.total += 1
        self.counts[event.type.rsplit(".", 1)[0]] += 1
        if event.type.startswith(DECISIONS):
            self._print(event)
        elif event.type.startswith(HIGHLIGHTS):
            key = (event.type, event.stream)
            now = time.monotonic()
            if now - self._last_shown.get(key, -THROTTLE_S) >= THROTTLE_S:
                self._last_shown[key] = now
                self._print(event)
        self.flush_if_due()

    def flush_if_due(self) -> None:
        """Print the counts when the interval has passed."""
        if time.monotonic() - self._last_flush >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        """Print the counts since the last flush (nothing when nothing arrived)."""
        self._last_flush = time.monotonic()
        if not self.counts:
            return
        by_domain: Counter[str] = Counter()
        for kind, n in self.counts.items():
            by_domain[kind.split(".", 1)[0]] += n
        parts = [f"{domain} {n:,}" for domain, n in sorted(by_domain.items())]
        md = " · ".join(
            f"{kind.split('.', 1)[1]} {n:,}"
            for kind, n in sorted(self.counts.items())
            if kind.startswith("md.")
        )
        detail = f"  (md: {md})" if md else ""
        self.console.print(
            f"[dim]{_clock(datetime.now())} recorded {' · '.join(parts)}{detail};"
            f" {self.total:,} since start[/dim]"
        )
        self.counts.clear()

    def _print(self, event: StoredEvent) -> None:
        try:
            data = msgspec.json.decode(event.data)
        except msgspec.DecodeError:
            data = None
        colour = COLOURS.get(event.type.split(".", 1)[0], "white")
        kind = escape(event.type)
        self.console.print(
            f"{_clock(event.occurred_at)} [{colour}]{kind:<28}[/{colour}]"
            f" {escape(fields_of(data) or event.stream)}"
        )


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


async def follow_raw(
    store: PostgresEventStore, after: int, stopping: asyncio.Event
) -> AsyncIterator[StoredEvent]:
    """Every event after `after`, in global order, as it is committed, until `stopping` is set."""
    # As `breakout store tail`: read the head first, so a row committed late below it is
    # still read by the batch that follows rather than jumped over.
    cursor = after
    while not stopping.is_set():
        head = await store.head_position()
        events = await store.read_all_raw(after=cursor, limit=1000)
        for event in events:
            yield event
            cursor = event.position
        if len(events) < 1000:
            cursor = max(cursor, head)
            await store.wait_for_append(1.0)


async def summarise_store(dsn: str, console: Console, stopping: asyncio.Event) -> None:
    """Print the summary of everything appended from now on, until `stopping` is set."""
    store = await PostgresEventStore.connect(dsn, max_size=2)
    summary = StoreSummary(console)

    async def follow() -> None:
        async for event in follow_raw(store, await store.head_position(), stopping):
            summary.observe(event)

    async def tick() -> None:
        # Counts are printed even while nothing arrives to trigger `observe`.
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), summary.interval_s)
            summary.flush_if_due()

    def reported(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            console.print(f"[bold red]summary stopped: {task.exception()!r}[/bold red]")

    tasks = [asyncio.create_task(follow()), asyncio.create_task(tick())]
    for task in tasks:
        task.add_done_callback(reported)
    # The tasks end by themselves within a second of `stopping` (their waits are bounded).
    # They are not cancelled: a cancel landing inside an asyncpg query or the store's
    # LISTEN wait was seen to leave the task "cancelling" for good, and `breakout run` then
    # never returned after Ctrl-C although every service had stopped.
    await asyncio.gather(*tasks, return_exceptions=True)
    await store.close()
