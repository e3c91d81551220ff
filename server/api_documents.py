"""Reading and editing live documents for REST routes, on the durable update path.

A REST edit is a server transaction on the room's Doc (`RoomManager.server_edit`) carrying the
caller as author: it is committed like a client's update before anyone sees it, connected
editors receive it at once, and the route answers only after the commit. A read waits until
the room holds nothing uncommitted, so a REST reader never sees what is not durable either
(DESIGN.md §6). Callbacks are synchronous on purpose: no other task may touch the Doc while a
read or an edit runs.

Reads by a module-level reader may be cached (`cached=True`): the result is kept with the room's
count of observed changes, and served again while the room's document has not changed. Many
people opening the same flow then cost one conversion, not one each.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from pycrdt import Doc

from crdt.errors import CrdtError
from crdt.room import RoomProtocol
from crdt.schema import DocKey
from persistence.store import StoreUnavailable
from server.http_auth import HttpError
from server.room import Room, RoomUnavailable
from server.rooms import RoomManager

T = TypeVar("T")
_CACHED_READS = 256  # results kept; each is a document's JSON, so keep the count modest
_Reader = Callable[[Doc[Any]], Any]


class Documents:
    def __init__(self, rooms: RoomManager, *, commit_wait_seconds: float) -> None:
        self._rooms = rooms
        self._wait = commit_wait_seconds
        # (document, reader) -> (the room's protocol, its changes_observed then, the result).
        # A weak reference: an unloaded room's document must not stay in memory for us.
        self._reads: OrderedDict[
            tuple[DocKey, _Reader], tuple[weakref.ref[RoomProtocol], int, Any]
        ] = OrderedDict()

    async def _settled(self, room: Room) -> None:
        try:
            await asyncio.wait_for(room.flushed(), self._wait)
        except TimeoutError as exc:
            raise StoreUnavailable("changes are waiting for the database") from exc

    async def read(
        self, key: DocKey, reader: Callable[[Doc[Any]], T], *, cached: bool = False
    ) -> T:
        """`reader(doc)` on the committed state; `DocumentNotFound` if there is no document.

        `cached`: `reader` is a module-level function whose result nobody mutates.
        """
        async with self._rooms.holding(key) as room:
            await self._settled(room)
            # No await between the wait and the read: nothing uncommitted can slip in.
            protocol = room.protocol
            if protocol is None:  # pragma: no cover - `holding` waited for the load
                raise RoomUnavailable(key.name)
            if not cached:
                return reader(protocol.doc)
            entry = self._reads.get((key, reader))
            if (
                entry is not None
                and entry[0]() is protocol
                and entry[1] == protocol.changes_observed
            ):
                self._reads.move_to_end((key, reader))
                result: T = entry[2]
                return result
            result = reader(protocol.doc)
            self._reads[(key, reader)] = (weakref.ref(protocol), protocol.changes_observed, result)
            if len(self._reads) > _CACHED_READS:
                self._reads.popitem(last=False)
            return result

    async def edit(
        self,
        key: DocKey,
        author_id: str,
        editor: Callable[[Doc[Any]], T],
        *,
        create: bool = False,
    ) -> T:
        """Run `editor(doc)` as one authored update; return once it is committed.

        `create` makes a missing document (what opening it as a writer does). A `CrdtError`
        from the views (what the editor UI would refuse) is a 422.
        """
        async with self._rooms.holding(key, create=create) as room:
            try:
                async with self._rooms.server_edit(key, author_id=author_id) as doc:
                    result = editor(doc)
            except CrdtError as exc:
                raise HttpError(422, str(exc), code="refused_edit") from exc
            if room.protocol is not None:  # always: `holding` waited for the load
                mark = room.protocol.changes_observed  # our change is among these
                try:
                    await asyncio.wait_for(room.committed_through(mark), self._wait)
                except TimeoutError as exc:
                    raise StoreUnavailable("the edit is waiting for the database") from exc
            return result
