"""A live room: the lifecycle state machine around one `RoomProtocol`, and its commit loop.

States: LOADING -> ACTIVE <-> DRAINING -> UNLOADED. Nobody is served while LOADING; the last
client leaving starts DRAINING, and a client arriving while DRAINING revives the room without a
reload. The update path follows DESIGN.md §6: a change is applied to the Doc, committed to the
store with the other changes queued behind the commit in flight (group commit), and only then
broadcast (each distinct frame encoded once) and acknowledged. A joiner's step-2 answer waits for
the commit of whatever the Doc holds beyond the store, so nobody ever sees a change that is not
durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

import structlog
from pycrdt import Doc, merge_updates

from crdt import messages
from crdt.errors import CrdtError
from crdt.room import REMOTE_ORIGIN, Change, RoomProtocol
from crdt.schema import DocKey
from persistence.store import DocumentStore, PendingUpdate, StoreError
from server.close_codes import CloseCode, close_code_for
from server.connection import Connection

log = structlog.get_logger(__name__)

_MERGE_MAX = 64  # merge_updates is quadratic: coalesce small runs only


class RoomState(Enum):
    LOADING = "loading"
    ACTIVE = "active"
    DRAINING = "draining"
    UNLOADED = "unloaded"


class RoomUnavailable(Exception):
    """The room could not be loaded; its clients were closed with 1013."""


class Room:
    def __init__(
        self,
        key: DocKey,
        store: DocumentStore,
        *,
        max_doc_bytes: int,
        max_awareness_bytes: int,
        grace_seconds: float,
        on_unloaded: Callable[[Room], None],
    ) -> None:
        self.key = key
        self.state = RoomState.LOADING
        self.connections: dict[int, Connection] = {}
        self.exists = False  # the store holds the document (or we are about to create it)
        self.committed_seq = 0
        self.protocol: RoomProtocol | None = None
        self._store = store
        self._max_doc_bytes = max_doc_bytes
        self._max_awareness_bytes = max_awareness_bytes
        self._grace = grace_seconds
        self._on_unloaded = on_unloaded
        self._loaded = asyncio.Event()
        self._load_error: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._flush_task: asyncio.Task[None] | None = None
        self._unload_handle: asyncio.TimerHandle | None = None
        self._sync_waiters: list[tuple[Connection, bytes]] = []
        self._held: list[tuple[Connection, bytes]] = []
        self._holding = False
        self.dropped_readonly_updates = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def start_loading(self) -> None:
        self._spawn(self._load())

    async def _load(self) -> None:
        try:
            stored = await self._store.load(self.key)
            doc: Doc[Any] = Doc()
            if stored is not None:
                self.exists = True
                self.committed_seq = stored.seq
                for update in stored.updates:
                    doc.apply_update(update)
            self.protocol = RoomProtocol(
                doc,
                self.key.schema,
                max_doc_bytes=self._max_doc_bytes,
                max_awareness_bytes=self._max_awareness_bytes,
                on_change=self._schedule_flush,
            )
            self.state = RoomState.ACTIVE
            log.info("room_loaded", room=self.key.name, seq=self.committed_seq)
        except (StoreError, OSError, ValueError, RuntimeError) as exc:
            self._load_error = exc
            log.error("room_load_failed", room=self.key.name, error=repr(exc))
            for conn in list(self.connections.values()):
                conn.close(CloseCode.TRY_AGAIN_LATER, "document storage unavailable")
            self.connections.clear()
            self._finish_unload()
        finally:
            self._loaded.set()

    async def wait_loaded(self) -> RoomProtocol:
        await self._loaded.wait()
        if self.protocol is None or self._load_error is not None:
            raise RoomUnavailable(self.key.name)
        return self.protocol

    def attach(self, conn: Connection) -> None:
        """Count a connection in (before the load completes, so the room cannot unload)."""
        self.connections[conn.id] = conn
        if self._unload_handle is not None:
            self._unload_handle.cancel()
            self._unload_handle = None
        if self.state is RoomState.DRAINING:
            self.state = RoomState.ACTIVE
            log.info("room_revived", room=self.key.name)

    def join(self, conn: Connection) -> None:
        """Serve a connection once loaded: our step 1 and everyone's presence."""
        for frame in self._loaded_protocol().connect(
            conn.id, writable=conn.principal.role.can_write
        ):
            conn.send(frame)

    def detach(self, conn: Connection) -> None:
        if self.connections.pop(conn.id, None) is None:
            return
        self._sync_waiters = [(c, sv) for c, sv in self._sync_waiters if c is not conn]
        if self.protocol is not None:
            removal = self.protocol.disconnect(conn.id)
            if removal is not None:
                self._relay(removal, exclude=conn.id)
        if not self.connections and self.state is RoomState.ACTIVE:
            self.state = RoomState.DRAINING
            loop = asyncio.get_running_loop()
            self._unload_handle = loop.call_later(self._grace, self._begin_unload)

    def _begin_unload(self) -> None:
        self._unload_handle = None
        self._spawn(self._unload())

    async def _unload(self) -> None:
        await self.flushed()
        if self.connections or self.state is not RoomState.DRAINING:
            return  # revived while the last commit was in flight
        self._finish_unload()

    def _finish_unload(self) -> None:
        self.state = RoomState.UNLOADED
        if self.protocol is not None:
            self.protocol.close()
        self._on_unloaded(self)
        log.info("room_unloaded", room=self.key.name, seq=self.committed_seq)

    async def flushed(self) -> None:
        """Wait until every change the Doc holds is committed (or the commit failed)."""
        while self._flush_task is not None:
            await asyncio.shield(self._flush_task)

    async def close_all(self, code: CloseCode, message: str) -> None:
        """Server shutdown: commit what is pending, then close every client."""
        await self.flushed()
        for conn in list(self.connections.values()):
            conn.close(code, message)

    # -- frames --------------------------------------------------------------------------------

    def receive(self, conn: Connection, frame: bytes) -> None:
        """Handle one frame; a bad one closes its connection and changes nothing else."""
        protocol = self._loaded_protocol()
        if self._holding and _is_update_frame(frame):
            self._held.append((conn, frame))
            return
        try:
            result = protocol.receive(conn.id, frame)
        except CrdtError as exc:
            self._refuse(conn, exc)
            return
        if result.dropped_update:
            self.dropped_readonly_updates += 1
        if result.reply:
            for out in result.reply:
                conn.send(out)
        if result.relay is not None:
            self._relay(result.relay, exclude=conn.id)
        if result.sync_request is not None:
            self._answer_sync(conn, result.sync_request)

    def _refuse(self, conn: Connection, exc: CrdtError) -> None:
        code = close_code_for(exc)
        log.info("frame_refused", room=self.key.name, conn=conn.id, code=int(code), error=str(exc))
        conn.close(code, str(exc))

    def _answer_sync(self, conn: Connection, state_vector: bytes) -> None:
        if self._flush_task is None:
            try:
                conn.send(self._loaded_protocol().sync_step2(state_vector))
            except CrdtError as exc:
                self._refuse(conn, exc)
            return
        # The Doc holds changes not yet committed: answer after the commit, and hold new
        # updates meanwhile so that the answer cannot be overtaken forever.
        self._sync_waiters.append((conn, state_vector))
        self._holding = True

    def _relay(self, frame: bytes, *, exclude: int) -> None:
        for conn_id, conn in self.connections.items():
            if conn_id != exclude:
                conn.send(frame)

    # -- the commit loop -----------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_task is None and self.state is not RoomState.UNLOADED:
            self._flush_task = self._spawn(self._flush_loop())

    async def _flush_loop(self) -> None:
        protocol = self._loaded_protocol()
        try:
            while True:
                changes = protocol.take_changes()
                if changes:
                    await self._commit_and_broadcast(changes)
                    continue
                if not self._sync_waiters and not self._held:
                    break
                self._release_barrier()
        finally:
            self._flush_task = None

    async def _commit_and_broadcast(self, changes: list[Change]) -> None:
        durable = [c for c in changes if c.origin != REMOTE_ORIGIN]
        if durable:
            pending = [PendingUpdate(c.update, self._user_of(c.origin)) for c in durable]
            try:
                self.committed_seq = await self._store.append(self.key, pending)
            except (StoreError, OSError) as exc:
                self._commit_failed(exc)
                return
            self.exists = True
        self._broadcast(changes)
        acked = {c.origin for c in durable}
        ack = messages.encode_ack(self.committed_seq)
        for conn_id in acked:
            conn = self.connections.get(conn_id)
            if conn is not None and conn.wants_ack:
                conn.send(ack)

    def _commit_failed(self, exc: BaseException) -> None:
        # The Doc now holds changes the store refused. Drop the whole room so that it reloads
        # from durable state; clients still hold their edits and resend them on reconnect.
        log.error("room_commit_failed", room=self.key.name, error=repr(exc))
        for conn in list(self.connections.values()):
            conn.close(CloseCode.TRY_AGAIN_LATER, "document storage unavailable")
        self.connections.clear()
        self._sync_waiters.clear()
        self._held.clear()
        self._holding = False
        if self.state is not RoomState.UNLOADED:
            self._finish_unload()

    def _release_barrier(self) -> None:
        protocol = self._loaded_protocol()
        waiters, self._sync_waiters = self._sync_waiters, []
        for conn, state_vector in waiters:
            if conn.id in self.connections:
                try:
                    conn.send(protocol.sync_step2(state_vector))
                except CrdtError as exc:
                    self._refuse(conn, exc)
        self._holding = False
        held, self._held = self._held, []
        for conn, frame in held:
            if conn.id in self.connections and not conn.closing:
                self.receive(conn, frame)

    def _broadcast(self, changes: Sequence[Change]) -> None:
        """Send each change to everyone but its origin, encoding each distinct frame once."""
        for start in range(0, len(changes), _MERGE_MAX):
            chunk = changes[start : start + _MERGE_MAX]
            if len(chunk) == 1:
                self._relay(messages.encode_sync_update(chunk[0].update), exclude=chunk[0].origin)
                continue
            origins = {c.origin for c in chunk}
            everything = messages.encode_sync_update(merge_updates(*(c.update for c in chunk)))
            partial: dict[int, bytes | None] = {}
            for conn_id, conn in self.connections.items():
                if conn_id not in origins:
                    conn.send(everything)
                    continue
                if conn_id not in partial:
                    others = [c.update for c in chunk if c.origin != conn_id]
                    partial[conn_id] = (
                        messages.encode_sync_update(merge_updates(*others)) if others else None
                    )
                frame = partial[conn_id]
                if frame is not None:
                    conn.send(frame)

    def _loaded_protocol(self) -> RoomProtocol:
        if self.protocol is None:
            raise RuntimeError(f"room {self.key.name} is not loaded")
        return self.protocol

    def _user_of(self, origin: int) -> str | None:
        conn = self.connections.get(origin)
        return None if conn is None else conn.principal.user_id

    def _spawn(self, coro: object) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _is_update_frame(frame: bytes) -> bool:
    # [0 sync][1 step 2 | 2 update]: the frames that change the Doc.
    return len(frame) > 1 and frame[0] == 0 and frame[1] in (1, 2)
