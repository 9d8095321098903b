"""The gateway's HTTP server as a runtime component (run until stopped, port known once up)."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from fastapi import FastAPI


class HttpServer:
    """uvicorn on the running event loop, so routes and read models share one loop."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.host = host
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                lifespan="off",
                log_level="warning",
                access_log=False,
                # Every frame is one shared text; compressing it per connection would cost
                # the gateway CPU per client per event.
                ws_per_message_deflate=False,
            )
        )
        # Signals belong to the process (`run_until_signalled`), not to the HTTP server.
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self.port = port
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Serve until `stop()`."""
        task = asyncio.create_task(self._server.serve())
        # uvicorn exposes only a flag for "listening".
        while not self._server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if self._server.started:
            self.port = self._server.servers[0].sockets[0].getsockname()[1]
            self.started.set()
        await task

    def stop(self) -> None:
        """Finish the requests in hand and return from `run()`."""
        self._server.should_exit = True

    @property
    def url(self) -> str:
        """The base URL (valid once `started`)."""
        return f"http://{self.host}:{self.port}"

    def health(self) -> dict[str, object]:
        """Serving or not."""
        return {"ok": self.started.is_set(), "port": self.port}
