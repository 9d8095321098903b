"""The stream's replication factor reaches the server only from the one that manages it."""

from __future__ import annotations

import pytest

from breakout.common.bus.nats import NatsBus
from breakout.common.config import InfraSettings

pytestmark = pytest.mark.integration


async def test_replicas_are_applied_by_the_manager_and_left_alone_by_others(
    infra: InfraSettings, bus_prefix: str
) -> None:
    manager = await NatsBus.connect(infra.nats_url, prefix=bus_prefix, replicas=1)
    other = await NatsBus.connect(infra.nats_url, prefix=bus_prefix)  # replicas unset
    three = await NatsBus.connect(infra.nats_url, prefix=bus_prefix, replicas=3)

    async def replicas() -> int:
        return int((await manager._js.stream_info(manager.stream)).config.num_replicas or 1)

    try:
        await manager.ensure_stream()
        assert await replicas() == 1
        # The relay of a cluster deployment asks for three: the stream's config says so (a
        # single server records it on an update, and refuses to create such a stream).
        await three.ensure_stream()
        assert await replicas() == 3
        await other.ensure_stream()  # no opinion on replicas: it does not undo them
        assert await replicas() == 3
    finally:
        await manager.delete_stream()
        for bus in (manager, other, three):
            await bus.close()


def test_replicas_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAKOUT_BUS_REPLICAS", "3")
    assert InfraSettings.from_env().bus_replicas == 3
    monkeypatch.delenv("BREAKOUT_BUS_REPLICAS")
    assert InfraSettings.from_env().bus_replicas == 1
