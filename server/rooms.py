"""The room manager: one `Room` per open document, one load per room, and the keepalive tick."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from pycrdt import Doc

from crdt.messages import KEEPALIVE
from crdt.room import FIRST_CONNECTION_ID, SERVER_ORIGIN
from crdt.schema import DocKey
from persistence.store import DocumentStore
from server.close_codes import CloseCode
from server.connection import Connection
from server.room import Room, RoomState, RoomUnavailable

log = structlog.get_logger(__name__)


class DocumentNotFound(Exception):
    """A read-only principal opened a document that does not exist."""


class RoomManager:
    def __init__(
        self,
        store: DocumentStore,
        *,
        max_doc_bytes: int,
        max_awareness_bytes: int,
        grace_seconds: float,
        keepalive_seconds: float,
    ) -> None:
        self._store = store
        self._max_doc_bytes = max_doc_bytes
        self._max_awareness_bytes = max_awareness_bytes
        self._grace = grace_seconds
        self._keepalive = keepalive_seconds
        self._rooms: dict[DocKey, Room] = {}
        self._ids = itertools.count(FIRST_CONNECTION_ID)

    @property
    def rooms(self) -> dict[DocKey, Room]:
        return self._rooms

    def next_connection_id(self) -> int:
        return next(self._ids)

    def get(self, key: DocKey) -> Room | None:
        return self._rooms.get(key)

    async def open(self, key: DocKey, conn: Connection) -> Room:
        """Attach a connection to its room, loading the room once however many arrive."""
        room = self._rooms.get(key)
        if room is None:
            room = Room(
                key,
                self._store,
                max_doc_bytes=self._max_doc_bytes,
                max_awareness_bytes=self._max_awareness_bytes,
                grace_seconds=self._grace,
                on_unloaded=self._forget,
            )
            self._rooms[key] = room
            room.start_loading()
        room.attach(conn)
        try:
            await room.wait_loaded()
        except RoomUnavailable:
            room.detach(conn)
            raise
        if not room.exists:
            if not conn.principal.role.can_write:
                room.detach(conn)
                raise DocumentNotFound(key.name)
            room.exists = True  # opening a new document creates it (DESIGN.md §5)
        room.join(conn)
        return room

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.key) is room:
            del self._rooms[room.key]

    @contextlib.asynccontextmanager
    async def server_edit(self, key: DocKey) -> AsyncIterator[Doc[Any]]:
        """Edit a loaded room's Doc from server code; the change travels like a client's."""
        room = self._rooms.get(key)
        if room is None or room.protocol is None or room.state is RoomState.UNLOADED:
            raise LookupError(f"room {key.name} is not loaded")
        doc = room.protocol.doc
        with doc.transaction(origin=SERVER_ORIGIN):
            yield doc

    def connections(self) -> Iterator[Connection]:
        for room in self._rooms.values():
            yield from room.connections.values()

    async def run_keepalive(self) -> None:
        """Send a no-op to every connection that has heard nothing for a while."""
        period = self._keepalive / 3
        while True:
            await asyncio.sleep(period)
            threshold = time.monotonic() - self._keepalive
            for conn in self.connections():
                if conn.last_sent < threshold and conn.queued_frames == 0:
                    conn.send(KEEPALIVE)

    async def shutdown(self) -> None:
        """Commit everything pending and close every client with 1012 (server restarting)."""
        rooms = list(self._rooms.values())
        await asyncio.gather(
            *(room.close_all(CloseCode.SERVER_RESTARTING, "server restarting") for room in rooms)
        )
        log.info("rooms_shut_down", rooms=len(rooms))
