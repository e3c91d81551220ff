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
from server.http_auth import HttpError, authenticate
from server.rooms import RoomManager
from server.settings import Settings


def ops_routes(
    settings: Settings, rooms: RoomManager, authenticator: Authenticator
) -> list[BaseRoute]:
    async def cluster_rooms(request: Request) -> Response:
        try:
            principal = await authenticate(request, authenticator, "", write=False)
            if principal.user_id not in settings.admins and not settings.is_development:
                raise HttpError(403, "operators only")
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

    return [Route("/api/v1/ops/rooms", cluster_rooms, methods=["GET"])]
