"""Server-side awareness bookkeeping for one room (y-protocols awareness, without timers).

The server does not interpret presence; it keeps the latest (clock, state JSON) per awareness
client id so that a joiner receives every current state at once, and remembers which connection
announced which ids so that their removal can be broadcast the moment that connection ends,
however it ends. States are validated as JSON so garbage never reaches other clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from crdt.encoding import Reader, write_varstring, write_varuint
from crdt.errors import ProtocolError

NULL_STATE = "null"


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: str  # JSON text; "null" means the client left


def parse_update(update: bytes) -> list[AwarenessEntry]:
    reader = Reader(update)
    count = reader.varuint()
    if count > reader.remaining:  # every entry takes at least three bytes
        raise ProtocolError("awareness entry count past end of message")
    entries = []
    for _ in range(count):
        client_id = reader.varuint()
        clock = reader.varuint()
        state = reader.varstring()
        try:
            json.loads(state)
        except ValueError as exc:
            raise ProtocolError("awareness state is not JSON") from exc
        entries.append(AwarenessEntry(client_id, clock, state))
    if not reader.done():
        raise ProtocolError("trailing bytes after awareness update")
    return entries


def encode_update(entries: Iterable[AwarenessEntry]) -> bytes:
    items = list(entries)
    out = bytearray()
    write_varuint(out, len(items))
    for entry in items:
        write_varuint(out, entry.client_id)
        write_varuint(out, entry.clock)
        write_varstring(out, entry.state)
    return bytes(out)


class AwarenessRegistry:
    """The room's current awareness states and which connection owns each client id."""

    __slots__ = ("_owner", "_states")

    def __init__(self) -> None:
        self._states: dict[int, AwarenessEntry] = {}
        self._owner: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, conn_id: int, entries: list[AwarenessEntry]) -> list[AwarenessEntry]:
        """Record entries announced by a connection; return the ones that changed anything."""
        changed = []
        for entry in entries:
            current = self._states.get(entry.client_id)
            # y-protocols' rule: only a newer clock changes a state, or a null at the same
            # clock. Stock clients echo every change they receive; accepting the echo would
            # hand the state to the echoing connection and relay it again.
            if current is not None and (
                entry.clock < current.clock
                or (entry.clock == current.clock and entry.state != NULL_STATE)
            ):
                continue
            if entry.state == NULL_STATE:
                if current is None:
                    continue
                del self._states[entry.client_id]
                self._owner.pop(entry.client_id, None)
            else:
                self._states[entry.client_id] = entry
                self._owner[entry.client_id] = conn_id
            changed.append(entry)
        return changed

    def snapshot(self) -> bytes | None:
        """Every current state in one update, for a joiner; None when there is nobody."""
        if not self._states:
            return None
        return encode_update(self._states.values())

    def remove_connection(self, conn_id: int) -> bytes | None:
        """Forget a connection's client ids; the removal update to broadcast, or None."""
        gone = [cid for cid, owner in self._owner.items() if owner == conn_id]
        if not gone:
            return None
        removed = []
        for cid in gone:
            entry = self._states.pop(cid)
            del self._owner[cid]
            # clock + 1 makes every peer accept the null state over the one it holds.
            removed.append(AwarenessEntry(cid, entry.clock + 1, NULL_STATE))
        return encode_update(removed)
