"""Client order ids: derived from the intent (and the exit's purpose and sequence), never random.

A restarted execution service recomputes the same id for the same decision, finds the order at
the exchange by it, and so never places a second one. Binance accepts up to 36 characters of
`[.A-Z:/a-z0-9_-]`; ours are `bk` + 30 hex digits.
"""

from __future__ import annotations

import uuid

from breakout.common.ids import BREAKOUT_NAMESPACE

CLIENT_ID_PREFIX = "bk"


def client_order_id(position_id: str, purpose: str, seq: int = 0) -> str:
    """The client order id of the `seq`-th `purpose` order of a position (entry: seq 0)."""
    digest = uuid.uuid5(BREAKOUT_NAMESPACE, f"order/{position_id}/{purpose}/{seq}").hex
    return f"{CLIENT_ID_PREFIX}{digest[:30]}"


def is_ours(client_id: str | None) -> bool:
    """Whether a client order id has the shape of the ones this system derives."""
    return client_id is not None and client_id.startswith(CLIENT_ID_PREFIX) and len(client_id) == 32
