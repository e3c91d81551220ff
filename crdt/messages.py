"""The y-websocket message codec: one websocket frame carries exactly one message.

Types (y-protocols): 0 sync (sub-types 0 step 1, 1 step 2, 2 update), 1 awareness, 2 auth,
3 query-awareness. Type 100 is our opt-in durable acknowledgement (`docs/protocol.md`): the
server sends it, a client never does. Decoding is strict: unknown types, truncation and trailing
bytes raise `ProtocolError`, because a frame we half-understand is one we must not act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from crdt.encoding import Reader, write_varbytes, write_varuint
from crdt.errors import ProtocolError


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    ACK = 100


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    update: bytes


@dataclass(frozen=True, slots=True)
class Awareness:
    update: bytes


@dataclass(frozen=True, slots=True)
class Auth:
    payload: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


Message = SyncStep1 | SyncStep2 | SyncUpdate | Awareness | Auth | QueryAwareness


def decode(frame: bytes) -> Message:
    """Decode one client frame; raise `ProtocolError` unless it is exactly one message."""
    reader = Reader(frame)
    kind = reader.varuint()
    message: Message
    if kind == MessageType.SYNC:
        sub = reader.varuint()
        payload = reader.varbytes()
        if sub == SyncType.UPDATE:
            message = SyncUpdate(payload)
        elif sub == SyncType.STEP2:
            message = SyncStep2(payload)
        elif sub == SyncType.STEP1:
            message = SyncStep1(payload)
        else:
            raise ProtocolError(f"unknown sync message type {sub}")
    elif kind == MessageType.AWARENESS:
        message = Awareness(reader.varbytes())
    elif kind == MessageType.QUERY_AWARENESS:
        message = QueryAwareness()
    elif kind == MessageType.AUTH:
        message = Auth(reader.take(reader.remaining))
    else:
        raise ProtocolError(f"unknown message type {kind}")
    if not reader.done():
        raise ProtocolError("trailing bytes after message")
    return message


def _sync(sub: SyncType, payload: bytes) -> bytes:
    out = bytearray((MessageType.SYNC, sub))
    write_varbytes(out, payload)
    return bytes(out)


def encode_sync_step1(state_vector: bytes) -> bytes:
    return _sync(SyncType.STEP1, state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    return _sync(SyncType.STEP2, update)


def encode_sync_update(update: bytes) -> bytes:
    return _sync(SyncType.UPDATE, update)


def encode_awareness(update: bytes) -> bytes:
    out = bytearray((MessageType.AWARENESS,))
    write_varbytes(out, update)
    return bytes(out)


def encode_ack(seq: int) -> bytes:
    out = bytearray()
    write_varuint(out, MessageType.ACK)
    write_varuint(out, seq)
    return bytes(out)


def encode_auth_denied(reason: str) -> bytes:
    # y-protocols auth: [2, 0 (permission denied), varstring reason]; the stock client logs it.
    out = bytearray((MessageType.AUTH, 0))
    write_varbytes(out, reason.encode())
    return bytes(out)


# An awareness update listing no clients: stock clients apply it as a no-op, so it is the
# cheapest message that still resets y-websocket's 30-second "no message received" watchdog.
KEEPALIVE = encode_awareness(b"\x00")
