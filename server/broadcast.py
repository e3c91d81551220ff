"""Fan-out of committed changes: each distinct frame encoded once, nobody gets their own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pycrdt import merge_updates

from crdt import messages
from crdt.room import Change
from server.connection import Connection

MERGE_MAX = 64  # merge_updates is quadratic: coalesce small runs only


def relay(connections: Mapping[int, Connection], frame: bytes, *, exclude: int) -> None:
    for conn_id, conn in connections.items():
        if conn_id != exclude:
            conn.send(frame)


def broadcast(connections: Mapping[int, Connection], changes: Sequence[Change]) -> None:
    """Send changes to every connection but their origin; runs of changes go as one frame."""
    for start in range(0, len(changes), MERGE_MAX):
        chunk = changes[start : start + MERGE_MAX]
        if len(chunk) == 1:
            relay(
                connections, messages.encode_sync_update(chunk[0].update), exclude=chunk[0].origin
            )
            continue
        origins = {c.origin for c in chunk}
        everything = messages.encode_sync_update(merge_updates(*(c.update for c in chunk)))
        partial: dict[int, bytes | None] = {}
        for conn_id, conn in connections.items():
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
