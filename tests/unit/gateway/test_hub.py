"""The fan-out: frames in order per client, a full queue drops that client and nobody else."""

from __future__ import annotations

import json

import msgspec

from breakout.common.events import StoredEvent, encode_wire
from breakout.gateway.hub import Hub, frame, kind_of
from tests.unit.gateway import factories as f


def _payload(position: int) -> bytes:
    event = f.activity("BTCUSDT", f.BASE_MS + position, 100.0 + position)
    stored = StoredEvent(
        position=position,
        stream="feat.activity-binance.BTCUSDT",
        version=position,
        event_id=f.new(event, position).event_id,
        type=event.type_tag(),
        occurred_at=f.BASE,
        recorded_at=f.BASE,
        producer="test",
        data=msgspec.Raw(msgspec.json.encode(event)),
    )
    return encode_wire(stored)


def test_frame_wraps_the_envelope_once() -> None:
    text = frame("feat.activity.BTCUSDT", _payload(7))
    assert text is not None
    decoded = json.loads(text)
    assert decoded["kind"] == "ACTIVITY"
    assert decoded["position"] == 7
    assert decoded["event"]["data"]["last_price"] == 107.0
    assert frame("feat.activity.BTCUSDT", b"garbage") is None
    assert kind_of("feat.density.X") == "DENSITY_UPDATE"
    assert kind_of("pos.opened.X") == "POSITION"
    assert kind_of("something.else") == "EVENT"


def test_slow_client_is_dropped_others_keep_every_frame_in_order() -> None:
    hub = Hub(queue_frames=5)
    fast = [hub.join(["feat.>"]) for _ in range(3)]
    slow = hub.join(["feat.activity.BTCUSDT"])
    other = hub.join(["pos.>"])
    received: list[list[int]] = [[] for _ in fast]
    for position in range(1, 21):
        hub.publish("feat.activity.BTCUSDT", _payload(position))
        for index, client in enumerate(fast):  # fast clients drain as they go
            while not client.queue.empty():
                received[index].append(json.loads(client.queue.get_nowait())["position"])
    assert received == [list(range(1, 21))] * 3
    assert slow.dropped.is_set()
    assert slow not in hub.clients
    assert slow.queue.qsize() == 5  # it held its bound, no more
    assert hub.dropped_total == 1
    assert not other.dropped.is_set()
    assert other.queue.empty()  # not its subject
    assert hub.health()["clients"] == 4


def test_resync_reaches_every_client_and_drops_a_full_one() -> None:
    hub = Hub(queue_frames=1)
    idle = hub.join(["feat.>"])
    full = hub.join(["feat.>"])
    full.queue.put_nowait("backlog")
    hub.resync("bus reconnected")
    assert json.loads(idle.queue.get_nowait()) == {"type": "resync", "reason": "bus reconnected"}
    assert full.dropped.is_set()
    assert hub.clients == {idle}
