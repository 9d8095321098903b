"""Least privilege on the bus: a private nats-server runs the committed
deploy/nats/permissions.conf; the relay may publish events, a service may not, nor read
another service's consumer; the gateway may listen to events but not publish them."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeout

from breakout.common.bus.nats import NatsBus
from breakout.common.bus.permissions import SERVICE_USERS
from breakout.common.bus.port import BusError, ConsumerConfig, OutgoingMessage
from tests.support.servers import PrivateNats, nats_binary

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {user.name: f"pw-{user.name}-0123456789" for user in SERVICE_USERS}
EVENT = OutgoingMessage(subject="sig.itest.BTCUSDT", payload=b"{}", msg_id="one")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrivateNats]:
    if nats_binary() is None:
        pytest.skip("nats-server not found")
    shutil.copy(REPO / "deploy" / "nats" / "permissions.conf", tmp_path / "permissions.conf")
    (tmp_path / "nats.conf").write_text('include "permissions.conf"\n')
    env = {user.password_env: PASSWORDS[user.name] for user in SERVICE_USERS}
    private = PrivateNats(tmp_path, config=tmp_path / "nats.conf", env=env)
    private.start()
    try:
        yield private
    finally:
        private.stop()


async def _as(server: PrivateNats, user: str, password: str | None = None) -> NatsBus:
    for _ in range(100):
        try:
            return await NatsBus.connect(
                server.url,
                user=user,
                password=password or PASSWORDS[user],
                ack_timeout_s=1.0,
                reconnect_time_wait_s=0.2,
            )
        except (OSError, nats.errors.NoServersError):  # still starting
            await asyncio.sleep(0.1)
    raise AssertionError("no NATS")


@pytest.fixture
async def relay(server: PrivateNats) -> AsyncIterator[NatsBus]:
    bus = await _as(server, "relay")
    await bus.ensure_stream()  # only the relay may create the stream
    yield bus
    await bus.close()


def _consumer(durable: str) -> ConsumerConfig:
    return ConsumerConfig(durable=durable, filter_subjects=("sig.>",), ack_wait_s=5.0)


async def test_the_relay_publishes_and_a_service_reads_its_own_consumer(
    relay: NatsBus, server: PrivateNats
) -> None:
    await relay.publish(EVENT)
    risk = await _as(server, "risk")
    try:
        await risk.ensure_stream()  # exists and unchanged: no update, which risk may not do
        consumer = await risk.pull_consumer(_consumer("risk"))
        messages = await consumer.fetch(10, 2.0)
        assert [m.subject for m in messages] == ["sig.itest.BTCUSDT"]
        await messages[0].ack()
    finally:
        await risk.close()


async def test_a_service_cannot_publish_an_event(relay: NatsBus, server: PrivateNats) -> None:
    features = await _as(server, "features")
    try:
        with pytest.raises(BusError):
            await features.publish(EVENT)
    finally:
        await features.close()
    assert await relay.last_sequence() == 0  # nothing reached the stream


async def test_a_service_cannot_read_another_services_consumer(
    relay: NatsBus, server: PrivateNats
) -> None:
    await relay.publish(EVENT)
    risk = await _as(server, "risk")
    features = await _as(server, "features")
    try:
        await risk.pull_consumer(_consumer("risk"))
        with pytest.raises(BusError):  # consumer info on risk's consumer is refused
            await features.pull_consumer(_consumer("risk"))
        # Nor can it pull risk's next message by hand, or create a consumer under another name.
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        client = await nats.connect(
            server.url, user="features", password=PASSWORDS["features"],
            inbox_prefix="_INBOX_features", error_cb=on_error,
        )  # fmt: skip
        try:
            with pytest.raises(NatsTimeout):
                await client.request("$JS.API.CONSUMER.MSG.NEXT.BREAKOUT.risk", b"1", timeout=1)
            # Replies meant for risk's inbox (its deliveries) are out of its reach too.
            await client.subscribe("_INBOX_risk.>")
            await client.flush()
            await asyncio.sleep(0.5)
        finally:
            await client.close()
        assert any('publish to "$js.api.consumer.msg.next.breakout.risk"' in e for e in errors)
        assert any('subscription to "_inbox_risk.>"' in e for e in errors), errors
        with pytest.raises(BusError):
            await features.pull_consumer(_consumer("stolen"))
    finally:
        await features.close()
        await risk.close()


async def test_the_gateway_listens_to_events_but_cannot_publish(
    relay: NatsBus, server: PrivateNats
) -> None:
    gateway = await _as(server, "gateway")
    try:
        received: asyncio.Queue[str] = asyncio.Queue()

        async def listen() -> None:
            async for message in gateway.subscribe("sig.>"):
                await received.put(message.subject)

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)  # the subscription reaches the server
        await relay.publish(EVENT)
        assert await asyncio.wait_for(received.get(), 5.0) == "sig.itest.BTCUSDT"
        listener.cancel()
        with pytest.raises(BusError):
            await gateway.publish(OutgoingMessage(subject="ctl.pause", payload=b"{}"))
    finally:
        await gateway.close()


async def test_a_wrong_password_is_refused(server: PrivateNats) -> None:
    with pytest.raises(Exception, match=r"[Aa]uthorization"):
        await nats.connect(
            server.url, user="relay", password="wrong", max_reconnect_attempts=0,
            allow_reconnect=False, connect_timeout=2,
        )  # fmt: skip
