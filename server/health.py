"""Liveness and readiness endpoints."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from persistence.store import StoreError
from server import __version__

_CHECK_SECONDS = 2.0


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


async def ready(request: Request) -> JSONResponse:
    """200 when the database answers and no room is failing its commits; 503 otherwise."""
    services = request.app.state.services
    checks: dict[str, dict[str, str]] = {}
    try:
        await asyncio.wait_for(services.store.check(), _CHECK_SECONDS)
        checks["database"] = {"status": "ok"}
    except (StoreError, TimeoutError) as exc:
        checks["database"] = {"status": "error", "error": str(exc) or "timed out"}
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
