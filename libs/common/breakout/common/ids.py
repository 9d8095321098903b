"""Deterministic ids: a retry of the same work must produce the same event ids."""

from __future__ import annotations

import uuid

# Fixed namespace for every id Breakout derives; changing it would change every derived id.
BREAKOUT_NAMESPACE = uuid.UUID("6f1c2a0e-4b7d-5e3a-9c1f-0d8b2e4a6c10")


def derived_event_id(producer: str, input_event_id: uuid.UUID, index: int) -> uuid.UUID:
    """Id of the `index`-th event `producer` derived from input event `input_event_id`."""
    return uuid.uuid5(BREAKOUT_NAMESPACE, f"derived/{producer}/{input_event_id}/{index}")


def external_event_id(source: str, *key: str | int) -> uuid.UUID:
    """Id of an event observed outside (an exchange trade id, a feed item id)."""
    return uuid.uuid5(BREAKOUT_NAMESPACE, "external/" + source + "/" + "/".join(map(str, key)))
