"""`python -m bench.consumer URL PREFIX N`: a separate-process consumer for the relay benchmark.

Prints `ready` once its durable consumer exists, then the wall-clock time (time.time()) at which
it had acked N messages.
"""

from __future__ import annotations

import asyncio
import sys
import time

from breakout.common.bus.nats import NatsBus
from breakout.common.bus.port import ConsumerConfig


async def main(url: str, prefix: str, total: int) -> None:
    """Ack `total` messages as they come; report when done."""
    bus = await NatsBus.connect(url, prefix=prefix)
    consumer = await bus.pull_consumer(
        ConsumerConfig(durable="bench-consumer", filter_subjects=("md.>",), ack_wait_s=60)
    )
    print("ready", flush=True)
    received = 0
    while received < total:
        messages = await consumer.fetch(1000, 30.0)
        if not messages:
            raise SystemExit(f"stalled at {received}/{total}")
        for message in messages:
            await message.ack()
        received += len(messages)
    print(time.time(), flush=True)
    await bus.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
