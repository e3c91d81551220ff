"""Liveness and readiness endpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server import __version__


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


async def ready(request: Request) -> JSONResponse:
    # The checks of the database, Redis and blob storage join here as those services arrive.
    return JSONResponse({"status": "ok", "version": __version__, "checks": {}})
