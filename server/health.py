"""Liveness and readiness endpoints."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse

from persistence.blobs import BlobError
from persistence.store import StoreError
from server import __version__
from server.redis_fanout import RedisFanout

if TYPE_CHECKING:
    from server.app import Services

_CHECK_SECONDS = 2.0

Check = dict[str, str]


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


def _failed(exc: BaseException) -> Check:
    return {"status": "error", "error": str(exc) or exc.__class__.__name__}


async def _database(services: Services) -> Check:
    try:
        await asyncio.wait_for(services.store.check(), _CHECK_SECONDS)
    except TimeoutError:
        return {"status": "error", "error": "timed out"}
    except StoreError as exc:
        return _failed(exc)
    return {"status": "ok"}


async def _storage(services: Services) -> Check:
    if services.blobs is None:
        return {"status": "error", "error": "not open"}
    try:
        await asyncio.wait_for(services.blobs.check(), _CHECK_SECONDS)
    except TimeoutError:
        return {"status": "error", "error": "timed out"}
    except BlobError as exc:
        return _failed(exc)
    return {"status": "ok"}


async def _redis(fanout: RedisFanout) -> Check:
    try:
        await asyncio.wait_for(fanout.check(), _CHECK_SECONDS)
    except TimeoutError:
        return {"status": "error", "error": "timed out"}
    except (RedisError, OSError) as exc:
        return _failed(exc)
    if not fanout.healthy:
        # Redis answers a ping, but our stream reader or publisher is still failing.
        return {"status": "error", "error": "the fan-out is reconnecting"}
    return {"status": "ok"}


async def ready(request: Request) -> JSONResponse:
    """200 when the database, blob storage (and Redis, when used) answer and every room
    commits; else 503."""
    services = request.app.state.services
    checks: dict[str, Check] = {}
    fanout = services.fanout
    if isinstance(fanout, RedisFanout):
        checks["database"], checks["storage"], checks["redis"] = await asyncio.gather(
            _database(services), _storage(services), _redis(fanout)
        )
    else:
        checks["database"], checks["storage"] = await asyncio.gather(
            _database(services), _storage(services)
        )
    failing = [room.key.name for room in services.rooms.rooms.values() if not room.healthy]
    checks["commits"] = (
        {"status": "ok"}
        if not failing
        else {"status": "error", "error": f"{len(failing)} room(s) cannot commit"}
    )
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "error", "version": __version__, "checks": checks},
        status_code=200 if healthy else 503,
    )
