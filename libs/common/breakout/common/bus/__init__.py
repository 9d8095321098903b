"""Bus: the port, the in-memory twin and the NATS JetStream implementation."""

from breakout.common.bus.memory import InMemoryBus
from breakout.common.bus.nats import NatsBus
from breakout.common.bus.port import (
    DOMAIN_ROOTS,
    MSG_ID,
    Bus,
    BusError,
    BusMessage,
    ConsumerConfig,
    OutgoingMessage,
    PublishAck,
    PullConsumer,
    WrongLastSequence,
)

__all__ = [
    "DOMAIN_ROOTS",
    "MSG_ID",
    "Bus",
    "BusError",
    "BusMessage",
    "ConsumerConfig",
    "InMemoryBus",
    "NatsBus",
    "OutgoingMessage",
    "PublishAck",
    "PullConsumer",
    "WrongLastSequence",
]
