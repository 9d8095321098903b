"""A JetStream context whose async publishes always settle, even when the server refuses."""

from __future__ import annotations

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import APIError

# Length of the NUID plus the two random hex bytes nats-py appends to build a reply token.
_TOKEN_OFFSET = 22 + 2


class SettlingJetStream(JetStreamContext):
    """nats-py 2.16's `publish_async` never settles the future of a refused message:
    `APIError.from_error` raises inside the reply handler instead of returning the error, so
    a wrong-last-sequence ack hangs its future forever (and lands in the error callback).
    This context hands that error to the future, as `publish` would raise it."""

    async def _handle_async_reply(self, msg: Msg) -> None:
        try:
            await super()._handle_async_reply(msg)
        except APIError as exc:
            token = msg.subject[len(self._nc._inbox_prefix) + _TOKEN_OFFSET :]
            future = self._publish_async_futures.get(token)
            if future is None or future.done():
                raise
            future.set_exception(exc)
