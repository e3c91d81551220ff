"""The app factory: routes, and a lifespan that owns every resource.

`create_app(settings)` opens nothing; the lifespan opens the store, the room manager and its
background tasks in one `AsyncExitStack`, and on shutdown commits what rooms hold before closing
their clients with 1012.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from persistence.memory import MemoryDocumentStore
from persistence.store import DocumentStore
from server import health
from server.auth import Authenticator, DevelopmentAuthenticator, RefuseAllAuthenticator
from server.connection import ConnectionLimits
from server.rooms import RoomManager
from server.settings import Settings
from server.sync_endpoint import FrameLimits, SyncEndpoint


@dataclass(slots=True)
class Services:
    """What the lifespan opened; tests and server-side code reach rooms through it."""

    settings: Settings
    store: DocumentStore
    rooms: RoomManager


def default_authenticator(settings: Settings) -> Authenticator:
    if settings.is_development:
        return DevelopmentAuthenticator()
    return RefuseAllAuthenticator()


def create_app(
    settings: Settings,
    *,
    authenticator: Authenticator | None = None,
    store: DocumentStore | None = None,
) -> Starlette:
    document_store: DocumentStore = store if store is not None else MemoryDocumentStore()
    rooms = RoomManager(
        document_store,
        max_doc_bytes=settings.max_doc_bytes,
        max_awareness_bytes=settings.max_awareness_bytes,
        grace_seconds=settings.room_grace_seconds,
        keepalive_seconds=settings.keepalive_seconds,
    )
    services = Services(settings, document_store, rooms)
    endpoint = SyncEndpoint(
        rooms,
        authenticator if authenticator is not None else default_authenticator(settings),
        ConnectionLimits(
            max_queue_frames=settings.send_queue_frames,
            max_queue_bytes=settings.send_queue_bytes,
            updates_per_second=settings.updates_per_second,
            update_burst=settings.update_burst,
            bytes_per_second=settings.bytes_per_second,
            bytes_burst=settings.bytes_burst,
            awareness_per_second=settings.awareness_per_second,
            awareness_burst=settings.awareness_burst,
        ),
        FrameLimits(max_frame_bytes=settings.max_frame_bytes),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            keepalive = asyncio.get_running_loop().create_task(rooms.run_keepalive())

            async def stop_keepalive() -> None:
                keepalive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keepalive

            stack.push_async_callback(stop_keepalive)
            stack.push_async_callback(rooms.shutdown)
            yield

    app = Starlette(
        routes=[
            Route("/health/live", health.live),
            Route("/health", health.ready),
            WebSocketRoute("/sync/projects/{project_id}/tree", endpoint.handle),
            WebSocketRoute("/sync/projects/{project_id}/{kind}/{doc_id}", endpoint.handle),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    return app
