"""Operators' view of the cluster: GET /api/v1/ops/rooms and POST /api/v1/ops/rooms/unload.

Operators are STORYARN_ADMIN_USERS (in development, anyone with a valid token). Every live
instance heartbeats its rooms and connection counts (server/redis_fanout.py); the list reads
those heartbeats, so it shows the whole cluster from any instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.responses import JSONResponse, Response

from server import __version__
from server.api_models import obj
from server.api_registry import Api, Auth, Call, Endpoint
from server.api_schema import rule
from server.fanout import Signal
from server.rooms import RoomManager

_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
CLUSTER = obj(
    {
        "version": {"type": "string"},
        "instances": {
            "type": "object",
            "additionalProperties": obj(
                {"rooms": {"type": "integer"}, "connections": {"type": "integer"}}
            ),
        },
        "rooms": {
            "type": "array",
            "items": obj(
                {
                    "room": {"type": "string"},
                    "connections": {"type": "integer"},
                    "instances": _COUNTS,
                }
            ),
        },
    }
)


@dataclass(frozen=True, slots=True)
class Unload:
    """The room to unload on every instance, by its sync path."""

    room: str = field(metadata=rule(pattern=r"^projects/", max_length=200))


def register(api: Api, rooms: RoomManager) -> None:
    async def unload_room(call: Call) -> Response:
        """Every instance commits, snapshots and closes the room's clients (1012)."""
        room = call.body.room
        await rooms.fanout.signal(Signal("unload", {"room": room}))
        return JSONResponse({"room": room, "status": "unloading"}, status_code=202)

    async def cluster_rooms(call: Call) -> Response:
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

    api.add(
        Endpoint(
            "GET",
            "/api/v1/ops/rooms",
            cluster_rooms,
            Auth.OPERATOR,
            "Rooms and connections on every live instance",
            "ops",
            response=CLUSTER,
        )
    )
    api.add(
        Endpoint(
            "POST",
            "/api/v1/ops/rooms/unload",
            unload_room,
            Auth.OPERATOR,
            "Commit, snapshot and close one room on every instance",
            "ops",
            status=202,
            response=obj({"room": {"type": "string"}, "status": {"type": "string"}}),
            body=Unload,
        )
    )
