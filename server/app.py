"""The app factory: routes, and a lifespan that owns every resource.

`create_app(settings)` opens nothing; the lifespan opens the store, the room manager and its
background tasks in one `AsyncExitStack`, and on shutdown commits what rooms hold before closing
their clients with 1012.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from persistence.blobs import BlobStore
from persistence.engine import create_engine, sqlite_url
from persistence.jobs import JobStore
from persistence.memory import MemoryDocumentStore
from persistence.migrate import ensure_migrated, upgrade
from persistence.sql_store import SqlDocumentStore
from persistence.store import DocumentStore, StoreError
from server import __version__, health
from server.access import Access, build_access
from server.api import EXCEPTION_HANDLERS, api_routes, build_api
from server.auth import Authenticator
from server.background import Background, running_background
from server.blob_storage import open_blob_store
from server.connection import ConnectionLimits
from server.fanout import Fanout, LocalFanout
from server.http_security import harden
from server.job_progress import JobProgress
from server.projector import Projector, running_projector
from server.redis_fanout import RedisFanout, RedisFanoutSettings
from server.request_context import RequestContextMiddleware
from server.room import RoomSettings
from server.rooms import RoomManager
from server.settings import Settings
from server.sync_endpoint import FrameLimits, SyncEndpoint
from server.telemetry import metrics_endpoint, sampling
from server.web import web_routes

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Services:
    """What the lifespan opened; tests and server-side code reach rooms through it."""

    settings: Settings
    store: DocumentStore
    rooms: RoomManager
    fanout: Fanout | None = None
    access: Access | None = None  # identity, audit, sessions (server/access.py)
    projector: Projector | None = None  # relational projections; None without a SQL store
    background: Background | None = None  # jobs and their broker; None without a SQL store
    blobs: BlobStore | None = None  # assets, thumbnails, exports (persistence/blobs.py)


def instance_id(settings: Settings) -> str:
    return settings.instance_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@contextlib.asynccontextmanager
async def _open_fanout(settings: Settings, rooms: RoomManager) -> AsyncIterator[Fanout]:
    me = instance_id(settings)
    if not settings.redis_url:
        yield LocalFanout(me, rooms.summaries)
        return
    fanout = RedisFanout(
        RedisFanoutSettings(
            url=settings.redis_url,
            prefix=settings.redis_prefix,
            stream_max_len=settings.redis_stream_max_len,
            stream_max_age_seconds=settings.redis_stream_max_age_seconds,
        ),
        me,
        rooms.summaries,
        __version__,
    )
    await fanout.start()
    try:
        yield fanout
    finally:
        await fanout.close()


def room_settings(settings: Settings) -> RoomSettings:
    return RoomSettings(
        max_doc_bytes=settings.max_doc_bytes,
        max_awareness_bytes=settings.max_awareness_bytes,
        grace_seconds=settings.room_grace_seconds,
        compact_rows=settings.compact_rows,
        compact_bytes=settings.compact_bytes,
        split_above_bytes=settings.split_above_bytes,
        max_pending_bytes=settings.max_pending_bytes,
        retry_max_seconds=settings.commit_retry_max_seconds,
        auto_version_quiet_seconds=settings.auto_version_quiet_seconds,
        auto_version_interval_seconds=settings.auto_version_interval_seconds,
    )


async def _prepare_database(engine: AsyncEngine, settings: Settings) -> None:
    if settings.is_development:
        await upgrade(engine)  # development migrates itself; elsewhere that is a release step
        return
    try:
        await ensure_migrated(engine)
    except (StoreError, SQLAlchemyError, OSError) as exc:
        log.error("database_not_ready", error=str(exc))
        raise


def create_app(
    settings: Settings,
    *,
    authenticator: Authenticator | None = None,
    store: DocumentStore | None = None,
    blobs: BlobStore | None = None,
) -> Starlette:
    # Creating an engine opens no connection; the lifespan checks and disposes it.
    engine: AsyncEngine | None = None
    document_store: DocumentStore
    if store is None and settings.store == "memory":
        document_store = MemoryDocumentStore()
    elif store is None:
        engine = create_engine(
            settings.database_url or sqlite_url(settings.data_dir),
            pool_size=settings.database_pool_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        document_store = SqlDocumentStore(engine)
    else:
        document_store = store
    if engine is None and settings.store == "sql":
        # Identity and the audit log live in SQL even beside a store handed in by a test.
        engine = create_engine(
            settings.database_url or sqlite_url(settings.data_dir),
            pool_size=settings.database_pool_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
    access = build_access(settings, engine, authenticator)
    rooms = RoomManager(
        document_store,
        room_settings(settings),
        keepalive_seconds=settings.keepalive_seconds,
        shutdown_seconds=settings.shutdown_seconds,
    )
    services = Services(settings, document_store, rooms, access=access)
    if engine is not None:
        services.background = Background(JobStore(engine))
    endpoint = SyncEndpoint(
        rooms,
        access.websocket_auth,
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
        access.sessions,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if engine is not None:
                stack.push_async_callback(engine.dispose)
                await _prepare_database(engine, settings)
            services.blobs = blobs if blobs is not None else open_blob_store(settings)
            if engine is not None and isinstance(document_store, SqlDocumentStore):
                # Entered before the rooms' shutdown is pushed: their last commits are projected
                # (a bounded drain) before the engine closes.
                projector = await stack.enter_async_context(
                    running_projector(
                        engine,
                        document_store,
                        debounce_seconds=settings.projection_debounce_seconds,
                        large=(rooms.loader.process_pool, settings.split_above_bytes),
                    )
                )
                rooms.on_committed(projector.committed)
                services.projector = projector
            if services.background is not None and engine is not None:
                # Entered before the rooms' shutdown is pushed, so it is left after it: rooms
                # commit their last edits while exports still running drain (bounded).
                await stack.enter_async_context(
                    running_background(
                        settings,
                        engine,
                        document_store,
                        services.background,
                        services.blobs,
                        JobProgress(rooms),
                    )
                )
            fanout = await stack.enter_async_context(_open_fanout(settings, rooms))
            rooms.use_fanout(fanout)
            services.fanout = fanout
            await stack.enter_async_context(sampling(services, engine))
            await stack.enter_async_context(access.running(fanout))
            keepalive = asyncio.get_running_loop().create_task(rooms.run_keepalive())

            async def stop_keepalive() -> None:
                keepalive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keepalive

            stack.push_async_callback(stop_keepalive)
            stack.push_async_callback(rooms.shutdown)
            yield

    api = build_api(
        settings,
        rooms,
        access,
        engine,
        background=services.background,
        blobs=lambda: services.blobs,
    )
    app = Starlette(
        routes=[
            Route("/health/live", health.live),
            Route("/health", health.ready),
            Route("/metrics", metrics_endpoint(engine)),
            WebSocketRoute("/sync/projects/{project_id}/tree", endpoint.handle),
            WebSocketRoute("/sync/projects/{project_id}/{kind}/{doc_id}", endpoint.handle),
            *api_routes(api),
            *web_routes(),  # last: /api, /sync, /health, /metrics first
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestContextMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    # Outside Starlette's own stack, so that even its 404s and 500s carry the headers.
    app.middleware_stack = harden(app.build_middleware_stack(), settings)
    app.state.services = services
    app.state.api = api  # the route registry: its OpenAPI document, and tests
    return app
