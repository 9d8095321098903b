"""Fan-out of bus messages to WebSocket clients, with back-pressure by dropping slow clients.

The hub receives every message of the allow-listed subjects once (`publish`, called by the
bus tap) and puts one shared frame into the queue of each client whose patterns match. It
never waits for a client: a client whose queue is full has fallen `queue_frames` behind, is
marked dropped and removed, and its connection is closed by its own task. So a slow browser
costs the gateway at most one bounded queue, and every other client keeps its order: frames
enter each queue in the order the tap delivers them (per allow-list pattern, the store's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import msgspec

from breakout.common.bus.matching import matches_any
from breakout.gateway import metrics

# What a dashboard calls each kind of update, by the first subject tokens.
KINDS: tuple[tuple[str, str], ...] = (
    ("feat.density", "DENSITY_UPDATE"),
    ("feat.activity", "ACTIVITY"),
    ("feat.levels", "LEVELS"),
    ("feat.", "FEATURE"),
    ("md.candle", "CANDLE"),
    ("scan.", "SCAN"),
    ("sig.", "SIGNAL"),
    ("exec.order", "ORDER"),
    ("exec.", "EXECUTION"),
    ("pos.", "POSITION"),
    ("risk.", "RISK"),
    ("regime.", "REGIME"),
    ("news.", "NEWS"),
    ("macro.", "MACRO"),
    ("ctl.", "CONTROL"),
    ("recon.", "RECON"),
)

CLOSE_TOO_SLOW = 4008


def kind_of(subject: str) -> str:
    """The dashboard's name for updates on `subject`."""
    for prefix, kind in KINDS:
        if subject.startswith(prefix):
            return kind
    return "EVENT"


class _Head(msgspec.Struct):
    """The envelope fields a frame repeats at its top (the rest is passed through)."""

    position: int
    type: str


_head_decoder = msgspec.json.Decoder(_Head)


def frame(subject: str, payload: bytes) -> str | None:
    """The WebSocket text frame of one bus message; None if the payload is not an envelope."""
    try:
        head = _head_decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    top = msgspec.json.encode(
        {"subject": subject, "kind": kind_of(subject), "type": head.type, "position": head.position}
    )
    # The stored envelope is passed through as is: one encode per message, shared by all.
    return (top[:-1] + b',"event":' + payload + b"}").decode()


class Client:
    """One connection's subscription: its patterns and its bounded queue of frames."""

    def __init__(self, patterns: Iterable[str], queue_frames: int) -> None:
        self.patterns = tuple(patterns)
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_frames)
        self.dropped = asyncio.Event()
        self.sent = 0


class Hub:
    """Routes frames to clients; drops a client rather than wait for it."""

    def __init__(self, queue_frames: int) -> None:
        self.queue_frames = queue_frames
        self.clients: set[Client] = set()
        self.dropped_total = 0
        self.published = 0
        self.undecodable = 0
        self._routes: dict[str, tuple[Client, ...]] = {}

    def join(self, patterns: Iterable[str]) -> Client:
        """A new client of `patterns` (already validated against the allow-list)."""
        client = Client(patterns, self.queue_frames)
        self.clients.add(client)
        self._routes.clear()
        metrics.WS_CLIENTS.set(len(self.clients))
        return client

    def leave(self, client: Client) -> None:
        """Forget a client (it disconnected or was dropped)."""
        self.clients.discard(client)
        self._routes.clear()
        metrics.WS_CLIENTS.set(len(self.clients))

    def publish(self, subject: str, payload: bytes) -> None:
        """Queue one bus message for every client that wants it (never blocks)."""
        targets = self._routes.get(subject)
        if targets is None:
            targets = self._routes[subject] = tuple(
                c for c in self.clients if matches_any(c.patterns, subject)
            )
        if not targets:
            return
        text = frame(subject, payload)
        if text is None:
            self.undecodable += 1
            metrics.WS_UNDECODABLE.inc()
            return
        self.published += 1
        for client in targets:
            if client.dropped.is_set():
                continue
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._drop(client)

    def resync(self, reason: str) -> None:
        """Tell every client that frames may have been missed (reload state over REST)."""
        text = msgspec.json.encode({"type": "resync", "reason": reason}).decode()
        for client in list(self.clients):
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._drop(client)

    def _drop(self, client: Client) -> None:
        client.dropped.set()
        self.dropped_total += 1
        metrics.WS_DROPPED.inc()
        self.leave(client)

    def health(self) -> dict[str, object]:
        """Clients, drops and frames so far."""
        return {
            "ok": True,
            "clients": len(self.clients),
            "dropped_slow": self.dropped_total,
            "messages": self.published,
        }
