"""pycrdt-websocket 0.16.5 baseline for bench/fanout.py: its stock ASGI server under uvicorn.

Usage: python bench/baselines/pycrdt_websocket_server.py PORT

The room name is the request path. Two things a working deployment needs and the benchmark adds
(notes/pycrdt.md §2): the `WebsocketServer` is entered with `async with` in the lifespan, and it
gets an `exception_handler`, without which one failed send kills every room. `get_room` is
serialised by a lock, the documented workaround for the concurrent-first-join hang; it is off the
update path. Everything on the update path is stock. uvicorn runs with the same transport as our
server (websockets-sansio) and permessage-deflate off, so the comparison is of the room code.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer
from pycrdt.websocket.yroom import YRoom


class LockedWebsocketServer(WebsocketServer):
    """Serialise `get_room`: two first joins of a new room would otherwise hang the second."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._room_lock = anyio.Lock()

    async def get_room(self, name: str) -> YRoom:
        async with self._room_lock:
            return await super().get_room(name)


def _log_exception(exc: Exception, log: logging.Logger) -> bool:
    log.debug("websocket server exception: %r", exc)
    return True  # handled: a dead client never takes the other rooms down


def create_app() -> Any:
    websocket_server = LockedWebsocketServer(
        rooms_ready=True, auto_clean_rooms=True, exception_handler=_log_exception
    )
    asgi = ASGIServer(websocket_server)

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with websocket_server:
            yield

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            # ASGIServer only acknowledges lifespan messages; run the WebsocketServer here.
            message = await receive()
            assert message["type"] == "lifespan.startup"
            async with lifespan():
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
                assert message["type"] == "lifespan.shutdown"
            await send({"type": "lifespan.shutdown.complete"})
            return
        await asgi(scope, receive, send)

    return app


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8001
    logging.basicConfig(level=logging.WARNING)
    config = uvicorn.Config(
        create_app(),
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
