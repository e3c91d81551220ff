"""A live room: the lifecycle state machine around one `RoomProtocol`, and its commit loop.

States: LOADING -> ACTIVE <-> DRAINING -> UNLOADED. Nobody is served while LOADING; the last
client leaving starts DRAINING, and a client arriving while DRAINING revives the room without a
reload. The update path follows DESIGN.md §6: a change is applied to the Doc, committed to the
store with every change queued behind the commit in flight (group commit), and only then
broadcast and acknowledged. A joiner's step-2 answer waits for the commit of whatever the Doc
holds beyond the store, so nobody ever sees a change that is not durable.

When the store fails, the room keeps its clients and retries with backoff; uncommitted changes
wait in a bounded buffer, and past its bound the writers are closed with 1013 (what they sent is
kept and committed on recovery).
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any

import structlog
from pycrdt import Doc

from crdt import messages
from crdt.errors import CrdtError
from crdt.restore import restore
from crdt.room import (
    EMPTY_STATE_VECTOR,
    REMOTE_ORIGIN,
    RESTORE_ORIGIN,
    SERVER_ORIGIN,
    Change,
    RoomProtocol,
)
from crdt.schema import DocKey
from persistence.store import (
    DocumentStore,
    PendingUpdate,
    StoredDocument,
    StoreError,
    StoreUnavailable,
    VersionKind,
)
from server import metrics
from server.broadcast import broadcast, relay
from server.close_codes import CloseCode, close_code_for
from server.connection import Connection
from server.doc_loading import DocLoader
from server.fanout import Fanout
from server.sequence import SequenceTracker
from server.versions import AutoVersioner

log = structlog.get_logger(__name__)

_STORE_FAULTS = (StoreError, OSError)


class RoomState(Enum):
    LOADING = "loading"
    ACTIVE = "active"
    DRAINING = "draining"
    UNLOADED = "unloaded"


class RoomUnavailable(Exception):
    """The room could not be loaded; its clients were closed with 1013."""


@dataclass(frozen=True, slots=True)
class RoomSettings:
    max_doc_bytes: int
    max_awareness_bytes: int
    grace_seconds: float
    compact_rows: int = 1000
    compact_bytes: int = 4 * 1024 * 1024
    max_pending_bytes: int = 16 * 1024 * 1024
    retry_initial_seconds: float = 0.05
    retry_max_seconds: float = 5.0
    auto_version_quiet_seconds: float = 30.0
    auto_version_interval_seconds: float = 600.0
    split_above_bytes: int = 512 * 1024


class Room:
    def __init__(
        self,
        key: DocKey,
        store: DocumentStore,
        settings: RoomSettings,
        *,
        fanout: Fanout,
        on_unloaded: Callable[[Room], None],
        on_committed: Callable[[DocKey, int], None] | None = None,
        loader: DocLoader | None = None,
    ) -> None:
        self.key = key
        self.state = RoomState.LOADING
        self.connections: dict[int, Connection] = {}
        self.exists = False
        self.committed_seq = 0  # the last sequence number this room committed or loaded
        self.snapshot_seq = 0
        self.commit_failures = 0  # consecutive; non-zero means the store is failing us
        self.dropped_readonly_updates = 0
        self.protocol: RoomProtocol | None = None
        self._store = store
        self._fanout = fanout
        self._settings = settings
        self._on_unloaded = on_unloaded
        self._on_committed = on_committed  # the projector's notifier: records, never awaits
        self._loader = loader or DocLoader()
        # Dropped once loaded: an Event holds a deque (about 0.7 KiB) for as long as it lives.
        self._loaded: asyncio.Event | None = asyncio.Event()
        self._load_error: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # The room's own work logs as the room's, not as the connection that happened to
        # start it: its tasks run in a context holding only the room.
        self._context = contextvars.Context()
        self._context.run(
            structlog.contextvars.bind_contextvars, project_id=key.project_id, room=key.name
        )
        self._flush_task: asyncio.Task[None] | None = None
        self._compaction: asyncio.Task[None] | None = None
        self._unload_handle: asyncio.TimerHandle | None = None
        self._holds = 0  # server work (a restore, a version) keeping the room loaded
        # No-op updates' acks, each waiting for every change observed before it to commit.
        self._ack_waiters: list[tuple[int, int]] = []  # (connection, changes observed then)
        self._changes_committed = 0
        # Server edits waiting for their change to commit: (changes observed then, future).
        self._commit_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._restore_origin = RESTORE_ORIGIN
        self._sync_waiters: list[tuple[Connection, bytes]] = []
        self._full_state_waiters: list[Connection] = []  # fresh joiners of a large document
        self._full_state_task: asyncio.Task[None] | None = None
        self._held: list[tuple[Connection, bytes]] = []
        self._holding = False
        self._unsent: list[Change] = []  # applied to the Doc, not yet committed
        self._users: dict[int, str | None] = {}  # origin -> user, kept until its changes commit
        self._api_origins: set[int] = set()  # origins of REST edits, labelled "api" in the log
        self._unsent_bytes = 0
        self._seqs = SequenceTracker()
        self._catching_up: asyncio.Task[None] | None = None
        self._instance_owners: dict[str, int] = {}  # other instances' presence, by owner id
        self._log: list[tuple[int, int, int]] = []  # (last seq, rows, bytes) since snapshot
        self.log_rows = 0  # running totals of `_log`: checked after every commit
        # Rooms under even load would all pass the thresholds at once and queue their snapshot
        # writes ahead of every commit (one SQLite writer): each room compacts at its own point
        # between 75 % and 100 % of them (docs/performance.md, "compaction storms").
        self._compact_at = 0.75 + 0.25 * random.random()  # noqa: S311  # nosec B311
        self.log_bytes = 0
        self._versioner = AutoVersioner(
            quiet_seconds=settings.auto_version_quiet_seconds,
            interval_seconds=settings.auto_version_interval_seconds,
            save=self._save_auto_version,
            spawn=self._spawn,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start_loading(self) -> None:
        self._spawn(self._load())

    async def _load(self) -> None:
        try:
            # Join the carrier first: whatever is committed after the load arrives through it.
            await self._fanout.join(self.key, self)
            stored = await self._store.load(self.key)
            doc: Doc[Any] = Doc()
            stored_bytes = 0
            if stored is not None:
                self.exists = True
                self.committed_seq = stored.seq
                self.snapshot_seq = stored.seq - stored.log_rows  # the log is gapless
                if stored.log_rows:
                    self._log_append(stored.seq, stored.log_rows, stored.log_bytes)
                # In bounded steps: a large document must not stall every other room.
                await self._loader.apply(doc, stored.updates)
                stored_bytes = sum(len(update) for update in stored.updates)
            self.protocol = RoomProtocol(
                doc,
                self.key.schema,
                max_doc_bytes=self._settings.max_doc_bytes,
                max_awareness_bytes=self._settings.max_awareness_bytes,
                on_change=self._schedule_flush,
                doc_bytes=stored_bytes,
            )
            self.state = RoomState.ACTIVE
            self._apply_remote_updates(self._seqs.rebase(self.committed_seq))
            if self._seqs.has_gap:
                self.catch_up()
            log.info("room_loaded", room=self.key.name, seq=self.committed_seq)
        except (*_STORE_FAULTS, ValueError, RuntimeError) as exc:
            self._load_error = exc
            log.error("room_load_failed", room=self.key.name, error=repr(exc))
            for conn in list(self.connections.values()):
                conn.close(CloseCode.TRY_AGAIN_LATER, "document storage unavailable")
            self.connections.clear()
            self._finish_unload()
        finally:
            if self._loaded is not None:
                self._loaded.set()
                self._loaded = None

    async def wait_loaded(self) -> RoomProtocol:
        if self._loaded is not None:
            await self._loaded.wait()
        if self.protocol is None or self._load_error is not None:
            raise RoomUnavailable(self.key.name)
        return self.protocol

    async def create(self) -> None:
        """Make a new document exist in the store (a writer opened it)."""
        if not self.exists:
            await self._store.create(self.key)
            self.exists = True

    def attach(self, conn: Connection) -> None:
        """Count a connection in (before the load completes, so the room cannot unload)."""
        self.connections[conn.id] = conn
        self._users[conn.id] = conn.principal.user_id
        if self._unload_handle is not None:
            self._unload_handle.cancel()
            self._unload_handle = None
        if self.state is RoomState.DRAINING:
            self.state = RoomState.ACTIVE
            log.info("room_revived", room=self.key.name)

    def join(self, conn: Connection) -> None:
        """Serve a connection once loaded: our step 1 and everyone's presence."""
        writable = conn.principal.role.can_write
        for frame in self._loaded_protocol().connect(conn.id, writable=writable):
            conn.send(frame)

    def detach(self, conn: Connection) -> None:
        if self.connections.pop(conn.id, None) is None:
            return
        self._sync_waiters = [(c, sv) for c, sv in self._sync_waiters if c is not conn]
        if self.protocol is not None:
            removal = self.protocol.disconnect(conn.id)
            if removal is not None:
                relay(self.connections, removal, exclude=conn.id)
                self._fanout.publish_awareness(self.key, removal)
        self._maybe_drain()

    def _begin_unload(self) -> None:
        self._unload_handle = None
        self._spawn(self._unload())

    def hold(self) -> None:
        """Keep the room loaded without a client (server work); pair with `release`."""
        self._holds += 1
        if self._unload_handle is not None:
            self._unload_handle.cancel()
            self._unload_handle = None
        if self.state is RoomState.DRAINING:
            self.state = RoomState.ACTIVE

    def release(self) -> None:
        self._holds -= 1
        self._maybe_drain()

    def _maybe_drain(self) -> None:
        if not self.connections and not self._holds and self.state is RoomState.ACTIVE:
            self.state = RoomState.DRAINING
            loop = asyncio.get_running_loop()
            self._unload_handle = loop.call_later(self._settings.grace_seconds, self._begin_unload)

    def _in_use(self) -> bool:
        return bool(self.connections or self._holds) or self.state is not RoomState.DRAINING

    async def _unload(self) -> None:
        await self.flushed()
        if self._in_use():
            return  # revived while the last commit was in flight
        await self._final_snapshot()
        if self._in_use():
            return
        self._finish_unload()

    async def _final_snapshot(self) -> None:
        try:
            if self._log:
                await self._compact()
            await self._versioner.save_now()
        except _STORE_FAULTS as exc:
            # The log still holds everything; the next load replays it.
            log.warning("room_final_snapshot_failed", room=self.key.name, error=repr(exc))

    def _finish_unload(self) -> None:
        self.state = RoomState.UNLOADED
        self._versioner.cancel()
        asyncio.get_running_loop().create_task(self._fanout.leave(self.key))
        if self.protocol is not None:
            self.protocol.close()
        self._on_unloaded(self)
        log.info("room_unloaded", room=self.key.name, seq=self.committed_seq)

    async def flushed(self) -> None:
        """Wait until every change the Doc holds is committed."""
        while self._flush_task is not None:
            await asyncio.shield(self._flush_task)

    async def committed_through(self, mark: int) -> None:
        """Wait until the first `mark` changes the Doc observed are committed.

        A REST edit waits for its own change only: in a busy room the commit loop may never be
        idle, so `flushed()` could keep it waiting long after its change was durable.
        """
        if mark <= self._changes_committed:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commit_waiters.append((mark, future))
        try:
            await future
        finally:
            self._commit_waiters = [w for w in self._commit_waiters if w[1] is not future]

    def _wake_commit_waiters(self) -> None:
        for mark, future in self._commit_waiters:
            if mark <= self._changes_committed and not future.done():
                future.set_result(None)

    async def shutdown(self, wait_seconds: float, message: str = "server restarting") -> None:
        """Server shutdown: commit what is pending, snapshot, and close every client (1012)."""
        try:
            await asyncio.wait_for(self.flushed(), wait_seconds)
        except TimeoutError:
            log.error("room_shutdown_uncommitted", room=self.key.name, changes=len(self._unsent))
        else:
            await self._final_snapshot()
        for conn in list(self.connections.values()):
            conn.close(CloseCode.SERVER_RESTARTING, message)

    async def force_unload(self, message: str) -> None:
        """An operator's unload: commit, snapshot, close every client with 1012, forget."""
        await self.shutdown(self._settings.retry_max_seconds * 4, message)
        if self.state is not RoomState.UNLOADED:
            self._finish_unload()

    @property
    def healthy(self) -> bool:
        return self.commit_failures == 0

    # -- frames --------------------------------------------------------------------------------

    def receive(self, conn: Connection, frame: bytes) -> None:
        """Handle one frame; a bad one closes its connection and changes nothing else."""
        protocol = self._loaded_protocol()
        if self._holding and _is_update_frame(frame):
            self._held.append((conn, frame))
            self._unsent_bytes += len(frame)
            self._enforce_pending_bound()
            return
        try:
            result = protocol.receive(conn.id, frame)
        except CrdtError as exc:
            self._refuse(conn, exc)
            return
        if result.dropped_update:
            self.dropped_readonly_updates += 1
        if result.unchanged_update and conn.wants_ack:
            # Nothing new, but the client waits to hear that all it sent is safe: answer once
            # every change observed so far is committed.
            mark = protocol.changes_observed
            if mark <= self._changes_committed:
                conn.send(messages.encode_ack(self.committed_seq))
            else:
                self._ack_waiters.append((conn.id, mark))
        for out in result.reply:
            conn.send(out)
        if result.relay is not None:
            relay(self.connections, result.relay, exclude=conn.id)
            self._fanout.publish_awareness(self.key, result.relay)
        if result.sync_request is not None:
            self._answer_sync(conn, result.sync_request)

    def _refuse(self, conn: Connection, exc: CrdtError) -> None:
        code = close_code_for(exc)
        log.info("frame_refused", room=self.key.name, conn=conn.id, code=int(code), error=str(exc))
        conn.close(code, str(exc))

    def _answer_sync(self, conn: Connection, state_vector: bytes) -> None:
        if self._flush_task is None:
            protocol = self._loaded_protocol()
            if (
                state_vector == EMPTY_STATE_VECTOR
                and protocol.doc_bytes >= self._loader.split_above
                and protocol.cached_full_state() is None
            ):
                self._send_full_state_later(conn)
                return
            try:
                conn.send(self._loaded_protocol().sync_step2(state_vector))
            except CrdtError as exc:
                self._refuse(conn, exc)
            return
        # The Doc holds changes not yet committed: answer after the commit, and hold new
        # updates meanwhile so that the answer cannot be overtaken forever.
        self._sync_waiters.append((conn, state_vector))
        self._holding = True

    def _send_full_state_later(self, conn: Connection) -> None:
        # A large document's full state takes tens of milliseconds to encode: the worker
        # process encodes the committed state instead, once for every joiner waiting. Updates
        # committed meanwhile still reach the joiner (it is in the room); Yjs orders them.
        self._full_state_waiters.append(conn)
        if self._full_state_task is None:
            self._full_state_task = self._spawn(self._encode_full_state())

    async def _encode_full_state(self) -> None:
        protocol = self._loaded_protocol()
        observed = protocol.changes_observed
        try:
            state, _ = await self._encode_state(self.committed_seq)
            frame = protocol.full_state_frame(observed, state)
        except _STORE_FAULTS as exc:
            log.warning("full_state_encode_failed", room=self.key.name, error=repr(exc))
            frame = protocol.sync_step2(EMPTY_STATE_VECTOR)
        finally:
            self._full_state_task = None
        waiters, self._full_state_waiters = self._full_state_waiters, []
        for conn in waiters:
            if self.connections.get(conn.id) is conn:
                conn.send(frame)

    # -- the commit loop -----------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_task is None and self.state is not RoomState.UNLOADED:
            self._flush_task = self._spawn(self._flush_loop())

    async def _flush_loop(self) -> None:
        protocol = self._loaded_protocol()
        delay = self._settings.retry_initial_seconds
        try:
            while self.state is not RoomState.UNLOADED:
                for change in protocol.take_changes():
                    self._unsent.append(change)
                    self._unsent_bytes += len(change.update)
                if self._unsent:
                    if await self._commit():
                        delay = self._settings.retry_initial_seconds
                    else:
                        self._enforce_pending_bound()
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, self._settings.retry_max_seconds)
                    continue
                if not self._sync_waiters and not self._held:
                    break
                self._release_barrier()
        finally:
            self._flush_task = None

    async def _commit(self) -> bool:
        batch = self._unsent
        durable = [c for c in batch if c.origin != REMOTE_ORIGIN]
        if durable:
            pending = [
                PendingUpdate(c.update, self._user_of(c.origin), _origin(c, self._api_origins))
                for c in durable
            ]
            started = time.perf_counter()
            try:
                last = await self._store.append(self.key, pending)
            except Exception as exc:
                # Whatever went wrong, the changes stay queued and are retried: dropping them
                # here would leave the Doc ahead of the store, silently.
                self.commit_failures += 1
                metrics.COMMIT_FAILURES.inc()
                if self.commit_failures == 1:
                    log.error("room_commit_failed", room=self.key.name, error=repr(exc))
                if not isinstance(exc, _STORE_FAULTS):
                    log.exception("room_commit_bug", room=self.key.name)
                return False
            metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
            metrics.COMMITS.inc()
            metrics.UPDATES_COMMITTED.inc(len(durable))
            if self.commit_failures:
                log.info("room_commit_recovered", room=self.key.name, retries=self.commit_failures)
            self.commit_failures = 0
            self._record_commit(last, durable)
            self._forget_departed_users()
        self._unsent, self._unsent_bytes = [], 0
        self._changes_committed += len(batch)
        broadcast(self.connections, batch)
        if self._commit_waiters:
            self._wake_commit_waiters()
        acked = {c.origin for c in durable}
        if self._ack_waiters:
            due = [c for c, mark in self._ack_waiters if mark <= self._changes_committed]
            self._ack_waiters = [w for w in self._ack_waiters if w[1] > self._changes_committed]
            acked.update(due)
        if acked:
            ack = messages.encode_ack(self.committed_seq)
            for conn_id in acked:
                conn = self.connections.get(conn_id)
                if conn is not None and conn.wants_ack:
                    conn.send(ack)
        if durable:
            self._versioner.touch()
            self._maybe_compact()
        return True

    def _forget_departed_users(self) -> None:
        waiting = self._loaded_protocol().pending_origins() | {c.origin for c in self._unsent}
        for origin in [o for o in self._users if o not in self.connections and o not in waiting]:
            del self._users[origin]
            self._api_origins.discard(origin)

    def _record_commit(self, last: int, durable: list[Change]) -> None:
        first = last - len(durable) + 1
        self.committed_seq = max(self.committed_seq, last)
        self.exists = True
        self._log_append(last, len(durable), sum(len(c.update) for c in durable))
        self._fanout.publish_updates(self.key, first, [c.update for c in durable])
        if self._on_committed is not None:
            self._on_committed(self.key, last)
        self._apply_remote_updates(self._seqs.record_own(first, last))

    # -- other instances -----------------------------------------------------------------------

    def apply_remote(self, seq: int, update: bytes) -> None:
        """An update another instance committed (RoomLink): apply in sequence order."""
        ready = self._seqs.offer(seq, update)
        if self.protocol is None:
            return  # still loading: the load's rebase applies what is due
        self._apply_remote_updates(ready)
        self.committed_seq = max(self.committed_seq, self._seqs.contiguous)
        if self._seqs.has_gap:
            self.catch_up()

    def _apply_remote_updates(self, updates: list[bytes]) -> None:
        protocol = self.protocol
        if protocol is None:
            return
        for update in updates:
            try:
                protocol.apply_trusted_update(REMOTE_ORIGIN, update)
            except CrdtError as exc:
                log.error("remote_update_rejected", room=self.key.name, error=str(exc))
        self.committed_seq = max(self.committed_seq, self._seqs.contiguous)

    def catch_up(self) -> None:
        """Read from SQL whatever the carrier may have lost (RoomLink)."""
        if self._catching_up is None and self.state is not RoomState.UNLOADED:
            self._catching_up = self._spawn(self._catch_up())

    async def _catch_up(self) -> None:
        delay = self._settings.retry_initial_seconds
        try:
            while self.protocol is not None and self.state is not RoomState.UNLOADED:
                try:
                    stored = await self._store.load_since(self.key, self._seqs.contiguous)
                except _STORE_FAULTS as exc:
                    log.warning("room_catch_up_failed", room=self.key.name, error=repr(exc))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._settings.retry_max_seconds)
                    continue
                if stored is not None:
                    self._apply_remote_updates(stored.updates)
                    self._apply_remote_updates(self._seqs.rebase(stored.seq))
                    self._seqs.wanted = min(self._seqs.wanted, self._seqs.contiguous)
                if not self._seqs.has_gap:
                    return
                await asyncio.sleep(delay)  # a hole SQL does not fill yet: a commit in flight
                delay = min(delay * 2, self._settings.retry_max_seconds)
        finally:
            self._catching_up = None

    def remote_awareness(self, instance: str, frame: bytes) -> None:
        """Presence from another instance's clients (RoomLink)."""
        if self.protocol is None:
            return
        owner = self._instance_owners.get(instance)
        if owner is None:
            owner = self._instance_owners[instance] = -1 - len(self._instance_owners)
        try:
            changed = self.protocol.apply_remote_awareness(owner, frame)
        except CrdtError as exc:
            log.warning("remote_awareness_rejected", room=self.key.name, error=str(exc))
            return
        if changed is not None:
            relay(self.connections, changed, exclude=0)

    def instance_gone(self, instance: str) -> None:
        """Another instance died: its clients' presence vanishes here too (RoomLink)."""
        owner = self._instance_owners.get(instance)
        if owner is None or self.protocol is None:
            return
        removal = self.protocol.forget_owner(owner)
        if removal is not None:
            relay(self.connections, removal, exclude=0)

    def _enforce_pending_bound(self) -> None:
        if self._unsent_bytes <= self._settings.max_pending_bytes:
            return
        for conn in list(self.connections.values()):
            if conn.principal.role.can_write and not conn.closing:
                conn.close(CloseCode.TRY_AGAIN_LATER, "document storage unavailable")

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
        self._unsent_bytes -= sum(len(frame) for _, frame in held)
        for conn, frame in held:
            if conn.id in self.connections and not conn.closing:
                self.receive(conn, frame)

    # -- compaction and versions ---------------------------------------------------------------

    def _log_append(self, seq: int, rows: int, size: int) -> None:
        self._log.append((seq, rows, size))
        self.log_rows += rows
        self.log_bytes += size

    def _maybe_compact(self) -> None:
        if self._compaction is not None:
            return
        if self.log_rows >= self._settings.compact_rows * self._compact_at or (
            self.log_bytes >= self._settings.compact_bytes * self._compact_at
        ):
            self._compaction = self._spawn(self._compact_in_background())

    async def _compact_in_background(self) -> None:
        try:
            await self._compact()
        except _STORE_FAULTS as exc:
            log.warning("room_compaction_failed", room=self.key.name, error=repr(exc))
        finally:
            self._compaction = None

    async def _compact(self) -> None:
        """Write the Doc's full state as the snapshot of every seq up to the contiguous one."""
        protocol = self._loaded_protocol()
        seq = self._seqs.contiguous
        if seq <= self.snapshot_seq:
            return
        state, seq = await self._snapshot_state(seq)
        if seq <= self.snapshot_seq:
            return
        await self._store.write_snapshot(self.key, state, seq)
        size = len(state) if isinstance(state, bytes) else sum(len(p) for p in state)
        self.snapshot_seq = seq
        folded = 0
        for last, rows, size in self._log:
            if last > seq:
                break
            folded += 1
            self.log_rows -= rows
            self.log_bytes -= size
        del self._log[:folded]
        protocol.doc_bytes = size
        log.info("room_compacted", room=self.key.name, seq=seq, bytes=size)

    async def _encode_state(self, seq: int) -> tuple[bytes, int]:
        """The Doc's state and the seq it holds everything up to, encoded off the loop if large.

        Encoding a 1,000-node flow takes 1-2 ms (notes/pycrdt.md §4), fine on the loop; a 20 MB
        one takes about 70 ms. Then the worker process rebuilds the state from the stored
        updates instead: exactly the committed rows, so its seq is the store's.
        """
        stored = await self._stored_if_large()
        if stored is None:
            return self._loaded_protocol().doc.get_update(), seq
        return await self._loader.encode(stored.updates), stored.seq

    async def _snapshot_state(self, seq: int) -> tuple[bytes | list[bytes], int]:
        """Like `_encode_state`, but a large state comes already cut into the pieces that the
        next load applies one at a time, so no load ever has to cut it."""
        stored = await self._stored_if_large()
        if stored is None:
            return self._loaded_protocol().doc.get_update(), seq
        return await self._loader.encode_pieces(stored.updates), stored.seq

    async def _stored_if_large(self) -> StoredDocument | None:
        if self._loaded_protocol().doc_bytes < self._loader.split_above:
            return None
        return await self._store.load(self.key)

    async def _save_auto_version(self) -> None:
        try:
            await self.save_version(kind=VersionKind.AUTO, name=None, author_id=None)
        except _STORE_FAULTS as exc:
            self._versioner.dirty = True  # try again at the next quiet spell
            log.warning("auto_version_failed", room=self.key.name, error=repr(exc))

    async def save_version(
        self, *, kind: VersionKind, name: str | None, author_id: str | None
    ) -> int:
        """Keep the committed state as a version; return its id."""
        try:
            await asyncio.wait_for(self.flushed(), self._settings.retry_max_seconds * 2)
        except TimeoutError as exc:
            raise StoreUnavailable("changes are waiting for the database") from exc
        state, seq = await self._encode_state(self.committed_seq)
        info = await self._store.save_version(
            self.key, state, seq, kind=kind, name=name, author_id=author_id
        )
        log.info("version_saved", room=self.key.name, version=info.id, kind=kind.value)
        return info.id

    async def restore_version(self, version_id: int, *, author_id: str | None) -> int | None:
        """Write the version's content as forward edits; keep the result as a version.

        Returns the id of the version recording the restore, or None if there is no such
        version of this document.
        """
        stored = await self._store.get_version(self.key, version_id)
        if stored is None:
            return None
        target: Doc[Any] = Doc()
        target.apply_update(stored.state)
        origin = self._restore_origin
        self._users[origin] = author_id
        with self._loaded_protocol().doc.transaction(origin=origin):
            restore(self._loaded_protocol().doc, target, self.key.schema)
        return await self.save_version(
            kind=VersionKind.RESTORE, name=f"restored version {version_id}", author_id=author_id
        )

    def server_transaction(self, author_id: str | None = None, origin: int = SERVER_ORIGIN) -> Any:
        """A transaction on the Doc whose changes travel like a client's (origin: server).

        A REST edit passes its caller and an origin of its own (a fresh connection id), so
        that the update log says who made it even when several edits share one commit.
        """
        if origin != SERVER_ORIGIN:
            self._users[origin] = author_id
            self._api_origins.add(origin)
        return self._loaded_protocol().doc.transaction(origin=origin)

    # -- helpers -------------------------------------------------------------------------------

    def _loaded_protocol(self) -> RoomProtocol:
        if self.protocol is None:
            raise RuntimeError(f"room {self.key.name} is not loaded")
        return self.protocol

    def _user_of(self, origin: int) -> str | None:
        return self._users.get(origin)

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        if not isinstance(coro, Coroutine):
            raise TypeError("spawn takes a coroutine")
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(
            coro, context=self._context.copy()
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _origin(change: Change, api_origins: set[int]) -> str:
    if change.origin == SERVER_ORIGIN:
        return "server"
    if change.origin in api_origins:
        return "api"
    if change.origin == RESTORE_ORIGIN:
        return "restore"
    return f"conn:{change.origin}"


def _is_update_frame(frame: bytes) -> bool:
    # [0 sync][1 step 2 | 2 update]: the frames that change the Doc.
    return len(frame) > 1 and frame[0] == 0 and frame[1] in (1, 2)
