"""The fan-out port: how instances serving the same rooms hear each other (DESIGN.md §7).

Postgres decides, Redis carries. After its commit an instance publishes each update with its
sequence number; the others apply it with the remote origin (never stored or published again).
Sequence numbers make delivery checkable: a room that sees a gap, joins, or hears that the
carrier lost messages reads what it missed from SQL. Awareness is ephemeral and travels as is.

`LocalFanout` is the embedded default: one process, nobody else to tell.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from crdt.schema import DocKey


class RoomLink(Protocol):
    """What a fan-out calls on a room it carries messages for."""

    def apply_remote(self, seq: int, update: bytes) -> None:
        """An update another instance committed as `seq` (empty: "check SQL up to seq")."""
        ...

    def remote_awareness(self, instance: str, frame: bytes) -> None: ...

    def instance_gone(self, instance: str) -> None:
        """Another instance stopped heartbeating: its clients' presence must vanish."""
        ...

    def catch_up(self) -> None:
        """Messages may have been lost (the carrier was down): read SQL for anything newer."""
        ...


@dataclass(frozen=True, slots=True)
class Signal:
    """A cluster-wide instruction: revoke a membership, unload a room, reload after restore."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


SignalHandler = Callable[[Signal], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RoomSummary:
    room: str
    connections: int


class Fanout(Protocol):
    instance_id: str

    @property
    def healthy(self) -> bool: ...

    async def join(self, key: DocKey, room: RoomLink) -> None:
        """Start carrying messages for a room; call before loading it from SQL."""
        ...

    async def leave(self, key: DocKey) -> None: ...

    def publish_updates(self, key: DocKey, first_seq: int, updates: Sequence[bytes]) -> None:
        """Queue committed updates (seqs first_seq, first_seq + 1, ...) for the others."""
        ...

    def publish_awareness(self, key: DocKey, frame: bytes) -> None: ...

    async def signal(self, signal: Signal) -> None:
        """Deliver a signal to every instance, this one included."""
        ...

    def on_signal(self, handler: SignalHandler) -> None: ...

    async def cluster(self) -> dict[str, list[RoomSummary]]:
        """Rooms and their connection counts, per live instance."""
        ...


class LocalFanout:
    """One process: updates and presence have nobody else to reach; signals loop back."""

    def __init__(self, instance_id: str, rooms: Callable[[], list[RoomSummary]]) -> None:
        self.instance_id = instance_id
        self._rooms = rooms
        self._handlers: list[SignalHandler] = []

    @property
    def healthy(self) -> bool:
        return True

    async def join(self, key: DocKey, room: RoomLink) -> None:
        return None

    async def leave(self, key: DocKey) -> None:
        return None

    def publish_updates(self, key: DocKey, first_seq: int, updates: Sequence[bytes]) -> None:
        return None

    def publish_awareness(self, key: DocKey, frame: bytes) -> None:
        return None

    async def signal(self, signal: Signal) -> None:
        for handler in self._handlers:
            await handler(signal)

    def on_signal(self, handler: SignalHandler) -> None:
        self._handlers.append(handler)

    async def cluster(self) -> dict[str, list[RoomSummary]]:
        return {self.instance_id: self._rooms()}
