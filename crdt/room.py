"""The sans-IO room protocol: one Doc, its peers, frames in, effects out.

`RoomProtocol.receive(conn_id, frame)` decodes a frame, checks it against the peer's rights, the
document kind's schema and the size limit, applies it to the Doc inside a transaction whose
origin is the connection, and returns what must happen next: frames for the sender, a frame to
relay to the others now (awareness), and the document changes to persist and then broadcast.
It never awaits and never sends: the server decides when (after the commit, DESIGN.md §6).

Origins are small ints so that `Doc.observe`, which only sees `hash(origin)`, sees the origin
itself: 1 is server code, 2 is another instance (Redis), 3 a version restore, and connections
count up from 16.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc

from crdt import messages
from crdt.awareness import AwarenessRegistry, encode_update, parse_update
from crdt.errors import ProtocolError, TooLarge
from crdt.schema import Schema
from crdt.update_reader import read_update

SERVER_ORIGIN = 1
REMOTE_ORIGIN = 2
RESTORE_ORIGIN = 3
FIRST_CONNECTION_ID = 16
EMPTY_STATE_VECTOR = b"\x00"

_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)


@dataclass(frozen=True, slots=True)
class Change:
    """An update that changed the Doc, with who made it."""

    origin: int
    update: bytes


@dataclass(slots=True)
class Received:
    """What one frame asks of the server."""

    reply: list[bytes] = field(default_factory=list)  # frames for the sender only
    relay: bytes | None = None  # a frame for every other peer, now (awareness)
    sync_request: bytes | None = None  # a state vector awaiting a step-2 answer
    dropped_update: bool = False  # a read-only peer's update, not applied
    unchanged_update: bool = False  # an update the Doc already held entirely


@dataclass(slots=True)
class _Peer:
    writable: bool


class RoomProtocol:
    """One document's Yjs state and its peers, with no I/O."""

    def __init__(
        self,
        doc: Doc[Any],
        schema: Schema,
        *,
        max_doc_bytes: int,
        max_awareness_bytes: int,
        on_change: Callable[[], None] | None = None,
        doc_bytes: int | None = None,
    ) -> None:
        self.doc = doc
        self.schema = schema
        self.max_doc_bytes = max_doc_bytes
        self.max_awareness_bytes = max_awareness_bytes
        self.awareness = AwarenessRegistry()
        self._peers: dict[int, _Peer] = {}
        self._changes: list[Change] = []
        self.changes_observed = 0  # every change ever observed, for "committed up to here"
        self._full_state: tuple[int, bytes] | None = None  # (changes_observed, step-2 frame)
        self._on_change = on_change
        # An upper bound on the encoded document: reset by whoever re-encodes it (compaction).
        # A caller that knows it (the stored updates' size) spares a full encode here.
        self.doc_bytes = len(doc.get_update()) if doc_bytes is None else doc_bytes
        self._subscription = doc.observe(self._observe)

    # -- peers ---------------------------------------------------------------------------------

    def connect(self, conn_id: int, *, writable: bool) -> list[bytes]:
        """Register a peer; return the frames it needs first (our step 1, current awareness)."""
        self._peers[conn_id] = _Peer(writable)
        frames = [messages.encode_sync_step1(self.doc.get_state())]
        snapshot = self.awareness.snapshot()
        if snapshot is not None:
            frames.append(messages.encode_awareness(snapshot))
        return frames

    def disconnect(self, conn_id: int) -> bytes | None:
        """Forget a peer; return the awareness removal to broadcast, if it had any presence."""
        self._peers.pop(conn_id, None)
        return self.forget_owner(conn_id)

    def apply_remote_awareness(self, owner: int, frame: bytes) -> bytes | None:
        """Presence relayed by another instance, recorded under `owner` (one per instance);
        return the frame to relay to this instance's peers, if anything changed."""
        message = messages.decode(frame)
        if not isinstance(message, messages.Awareness):
            raise ProtocolError("remote presence frame is not an awareness message")
        entries = parse_update(message.update)
        changed = self.awareness.apply(owner, entries)
        if not changed:
            return None
        if len(changed) == len(entries):
            return frame
        return messages.encode_awareness(encode_update(changed))

    def forget_owner(self, owner: int) -> bytes | None:
        """Drop every presence state `owner` announced (an instance died); the removal frame."""
        removal = self.awareness.remove_connection(owner)
        return None if removal is None else messages.encode_awareness(removal)

    def set_writable(self, conn_id: int, writable: bool) -> None:
        peer = self._peers.get(conn_id)
        if peer is not None:
            peer.writable = writable

    @property
    def peer_count(self) -> int:
        return len(self._peers)

    # -- frames --------------------------------------------------------------------------------

    def receive(self, conn_id: int, frame: bytes) -> Received:
        """Handle one frame from a peer; raise a `CrdtError` for anything it must be closed for."""
        peer = self._peers.get(conn_id)
        if peer is None:
            raise ProtocolError("frame from an unknown connection")
        message = messages.decode(frame)
        result = Received()
        if isinstance(message, messages.SyncUpdate | messages.SyncStep2):
            if not peer.writable:
                # Still decoded and read: garbage from a viewer closes it like anyone else.
                read_update(message.update)
                result.dropped_update = True
                return result
            # The Doc's observer records the change; the server takes it with take_changes().
            before = len(self._changes)
            self.apply_client_update(conn_id, message.update)
            result.unchanged_update = len(self._changes) == before
        elif isinstance(message, messages.SyncStep1):
            result.sync_request = message.state_vector
        elif isinstance(message, messages.Awareness):
            result.relay = self._receive_awareness(conn_id, message.update, frame)
        elif isinstance(message, messages.QueryAwareness):
            snapshot = self.awareness.snapshot()
            if snapshot is not None:
                result.reply.append(messages.encode_awareness(snapshot))
        # messages.Auth from a client carries nothing we act on; y-websocket never sends it.
        return result

    def sync_step2(self, state_vector: bytes) -> bytes:
        """The step-2 answer to a peer's state vector: everything it lacks.

        A peer that holds nothing (a fresh joiner) gets the whole document; that answer is
        encoded once and reused until the Doc changes, so a crowd joining at once costs one
        encoding, not one per joiner.
        """
        if state_vector == EMPTY_STATE_VECTOR:
            cached = self._full_state
            if cached is not None and cached[0] == self.changes_observed:
                return cached[1]
        try:
            update = self.doc.get_update(state_vector)
        except ValueError as exc:
            raise ProtocolError("malformed state vector") from exc
        frame = messages.encode_sync_step2(update)
        if state_vector == EMPTY_STATE_VECTOR:
            self._full_state = (self.changes_observed, frame)
        return frame

    def cached_full_state(self) -> bytes | None:
        """The fresh joiner's step 2, if encoded since the Doc last changed."""
        cached = self._full_state
        if cached is not None and cached[0] == self.changes_observed:
            return cached[1]
        return None

    def full_state_frame(self, observed: int, state: bytes) -> bytes:
        """Frame a full state encoded elsewhere (when `changes_observed` was `observed`) as
        a fresh joiner's step 2; cache it if the Doc has not changed since."""
        frame = messages.encode_sync_step2(state)
        if observed == self.changes_observed:
            self._full_state = (observed, frame)
        return frame

    def apply_client_update(self, origin: int, update: bytes) -> None:
        summary = read_update(update)
        self.schema.check(summary)
        if summary.is_empty:
            return
        if self.doc_bytes + len(update) > self.max_doc_bytes:
            raise TooLarge(f"document would exceed {self.max_doc_bytes} bytes")
        self.apply_trusted_update(origin, update)

    def apply_trusted_update(self, origin: int, update: bytes) -> None:
        """Apply an update that was already validated (by us, or before it was stored)."""
        try:
            with self.doc.transaction(origin=origin):
                self.doc.apply_update(update)
        except _FATAL:
            raise
        except BaseException as exc:
            # pycrdt raises ValueError/RuntimeError on undecodable input and pyo3 panics are
            # BaseExceptions; a frame that passed our reader but not Yrs is still just bad input.
            raise ProtocolError(f"update rejected by the CRDT: {exc}") from exc

    def pending_origins(self) -> set[int]:
        """Origins of changes observed but not taken yet."""
        return {change.origin for change in self._changes}

    def take_changes(self) -> list[Change]:
        """Changes the Doc went through since the last call, in order."""
        changes, self._changes = self._changes, []
        return changes

    def _observe(self, event: Any) -> None:
        update: bytes = event.update
        origin = event.transaction.origin()
        self._changes.append(Change(SERVER_ORIGIN if origin is None else origin, update))
        self.changes_observed += 1
        self.doc_bytes += len(update)
        if self._on_change is not None:
            self._on_change()

    def _receive_awareness(self, conn_id: int, update: bytes, frame: bytes) -> bytes | None:
        if len(update) > self.max_awareness_bytes:
            raise TooLarge(f"awareness update over {self.max_awareness_bytes} bytes")
        entries = parse_update(update)
        changed = self.awareness.apply(conn_id, entries)
        if not changed:
            return None
        if len(changed) == len(entries):
            return frame  # relay the client's own bytes: encoded once, by the client
        return messages.encode_awareness(encode_update(changed))

    def close(self) -> None:
        self.doc.unobserve(self._subscription)
