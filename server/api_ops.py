"""Operators' view of the cluster: GET /api/v1/ops/rooms (admins only).

Every live instance heartbeats its rooms and connection counts (server/redis_fanout.py); this
route reads those heartbeats, so it shows the whole cluster from any instance.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server import __version__
from server.auth import Authenticator
from server.fanout import Signal
from server.http_auth import HttpError, authenticate
from server.rooms import RoomManager
from server.settings import Settings


def ops_routes(
    settings: Settings, rooms: RoomManager, authenticator: Authenticator
) -> list[BaseRoute]:
    async def operator(request: Request) -> None:
        principal = await authenticate(request, authenticator, "", write=False)
        if principal.user_id not in settings.admins and not settings.is_development:
            raise HttpError(403, "operators only")

    async def unload_room(request: Request) -> Response:
        """Every instance commits, snapshots and closes the room's clients (1012)."""
        try:
            await operator(request)
            try:
                body = await request.json()
            except ValueError as exc:
                raise HttpError(400, "the body must be JSON") from exc
            room = body.get("room") if isinstance(body, dict) else None
            if not isinstance(room, str) or not room.startswith("projects/"):
                raise HttpError(400, 'give {"room": "projects/..."}')
        except HttpError as exc:
            return exc.response()
        await rooms.fanout.signal(Signal("unload", {"room": room}))
        return JSONResponse({"room": room, "status": "unloading"}, status_code=202)

    async def cluster_rooms(request: Request) -> Response:
        try:
            await operator(request)
        except HttpError as exc:
            return exc.response()
        view = await rooms.fanout.cluster()
        by_room: dict[str, dict[str, int]] = {}
        for instance, summaries in view.items():
            for summary in summaries:
                by_room.setdefault(summary.room, {})[instance] = summary.connections
        return JSONResponse(
            {
                "version": __version__,
                "instances": {
                    instance: {
                        "rooms": len(summaries),
                        "connections": sum(s.connections for s in summaries),
                    }
                    for instance, summaries in sorted(view.items())
                },
                "rooms": [
                    {
                        "room": room,
                        "connections": sum(per_instance.values()),
                        "instances": per_instance,
                    }
                    for room, per_instance in sorted(by_room.items())
                ],
            }
        )

    return [
        Route("/api/v1/ops/rooms", cluster_rooms, methods=["GET"]),
        Route("/api/v1/ops/rooms/unload", unload_room, methods=["POST"]),
    ]
