"""The room manager: one `Room` per open document, one load per room, and the keepalive tick."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import structlog
from pycrdt import Doc

from crdt.messages import KEEPALIVE
from crdt.room import FIRST_CONNECTION_ID, SERVER_ORIGIN
from crdt.schema import DocKey
from persistence.store import DocumentStore, StoreError
from server import metrics
from server.connection import Connection
from server.doc_loading import DocLoader
from server.fanout import Fanout, RoomSummary, Signal
from server.room import Room, RoomSettings, RoomState, RoomUnavailable

log = structlog.get_logger(__name__)
_KEEPALIVE_SLICE = 256


class DocumentNotFound(Exception):
    """A read-only principal opened a document that does not exist."""


class RoomManager:
    def __init__(
        self,
        store: DocumentStore,
        settings: RoomSettings,
        *,
        keepalive_seconds: float,
        shutdown_seconds: float = 20.0,
    ) -> None:
        self._store = store
        self._fanout: Fanout | None = None
        self._settings = settings
        self._keepalive = keepalive_seconds
        self._shutdown_seconds = shutdown_seconds
        self._rooms: dict[DocKey, Room] = {}
        self._ids = itertools.count(FIRST_CONNECTION_ID)
        self._on_committed: Callable[[DocKey, int], None] | None = None
        # Its worker process starts with the first large document.
        self._loader = DocLoader(settings.split_above_bytes)

    @property
    def loader(self) -> DocLoader:
        return self._loader

    @property
    def store(self) -> DocumentStore:
        return self._store

    @property
    def fanout(self) -> Fanout:
        if self._fanout is None:
            raise RuntimeError("the room manager has no fan-out yet")
        return self._fanout

    def use_fanout(self, fanout: Fanout) -> None:
        """Set by the lifespan before any room opens (the fan-out needs our room summaries)."""
        self._fanout = fanout
        fanout.on_signal(self._on_signal)

    def on_committed(self, notify: Callable[[DocKey, int], None]) -> None:
        """Set by the lifespan before any room opens: told of every commit (the projector)."""
        self._on_committed = notify

    def summaries(self) -> list[RoomSummary]:
        return [RoomSummary(k.name, len(r.connections)) for k, r in self._rooms.items()]

    async def _on_signal(self, signal: Signal) -> None:
        if signal.kind == "unload":
            for key, room in list(self._rooms.items()):
                if key.name == signal.data.get("room"):
                    await room.force_unload("room unloaded by an operator")

    @property
    def rooms(self) -> dict[DocKey, Room]:
        return self._rooms

    def next_connection_id(self) -> int:
        return next(self._ids)

    def get(self, key: DocKey) -> Room | None:
        return self._rooms.get(key)

    def _room(self, key: DocKey) -> Room:
        room = self._rooms.get(key)
        if room is None:
            room = Room(
                key,
                self._store,
                self._settings,
                fanout=self.fanout,
                on_unloaded=self._forget,
                on_committed=self._on_committed,
                loader=self._loader,
            )
            self._rooms[key] = room
            metrics.ROOMS_OPEN.inc()
            room.start_loading()
        return room

    async def open(self, key: DocKey, conn: Connection) -> Room:
        """Attach a connection to its room, loading the room once however many arrive."""
        room = self._room(key)
        room.attach(conn)
        try:
            await room.wait_loaded()
            if not room.exists:
                if not conn.principal.role.can_write:
                    raise DocumentNotFound(key.name)
                try:
                    await room.create()  # opening a new document creates it (DESIGN.md §5)
                except StoreError as exc:
                    raise RoomUnavailable(key.name) from exc
        except BaseException:
            room.detach(conn)
            raise
        room.join(conn)
        return room

    @contextlib.asynccontextmanager
    async def holding(self, key: DocKey, *, create: bool = False) -> AsyncIterator[Room]:
        """A loaded room for server work (versions, restores, REST), kept loaded until exit.

        Raises `DocumentNotFound` for a document that does not exist, unless `create` makes it.
        """
        room = self._room(key)
        room.hold()
        try:
            await room.wait_loaded()
            if not room.exists:
                if not create:
                    raise DocumentNotFound(key.name)
                try:
                    await room.create()
                except StoreError as exc:
                    raise RoomUnavailable(key.name) from exc
            yield room
        finally:
            room.release()

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.key) is room:
            del self._rooms[room.key]
            metrics.ROOMS_OPEN.dec()

    @contextlib.asynccontextmanager
    async def server_edit(
        self, key: DocKey, *, author_id: str | None = None
    ) -> AsyncIterator[Doc[Any]]:
        """Edit a loaded room's Doc from server code; the change travels like a client's.

        With `author_id` the edit gets an origin of its own and the update log names the
        author. Never await inside: the transaction is open until the block ends.
        """
        room = self._rooms.get(key)
        if room is None or room.protocol is None or room.state is RoomState.UNLOADED:
            raise LookupError(f"room {key.name} is not loaded")
        origin = SERVER_ORIGIN if author_id is None else self.next_connection_id()
        with room.server_transaction(author_id, origin):
            yield room.protocol.doc

    def connections(self) -> Iterator[Connection]:
        for room in self._rooms.values():
            yield from room.connections.values()

    @property
    def healthy(self) -> bool:
        return all(room.healthy for room in self._rooms.values())

    async def run_keepalive(self) -> None:
        """Send a no-op to every connection that has heard nothing for a while."""
        period = self._keepalive / 3
        while True:
            await asyncio.sleep(period)
            threshold = time.monotonic() - self._keepalive
            # Thousands of idle clients fall due together: wake their writers a slice at a
            # time so rooms with traffic are never held behind a whole round.
            for index, conn in enumerate(list(self.connections())):
                if conn.last_sent < threshold and conn.queued_frames == 0:
                    conn.send(KEEPALIVE)
                if index % _KEEPALIVE_SLICE == _KEEPALIVE_SLICE - 1:
                    await asyncio.sleep(0)

    async def shutdown(self) -> None:
        """Commit and snapshot every room, then close every client with 1012."""
        rooms = list(self._rooms.values())
        await asyncio.gather(*(room.shutdown(self._shutdown_seconds) for room in rooms))
        await self._loader.close()
        log.info("rooms_shut_down", rooms=len(rooms))
