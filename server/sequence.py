"""Which sequence numbers a room's Doc holds, so that remote updates apply once, in order.

Our own commits and other instances' updates share one per-document numbering (SQL hands it
out). A remote update is applied when every number before it is held; one that arrives early
waits here, and a hole nobody fills (a lost message) is read from SQL by the room.
"""

from __future__ import annotations


class SequenceTracker:
    __slots__ = ("ahead", "contiguous", "pending", "wanted")

    def __init__(self, contiguous: int = 0) -> None:
        self.contiguous = contiguous  # every seq up to here is in the Doc
        self.ahead: set[int] = set()  # held beyond `contiguous` (our commits past a hole)
        self.pending: dict[int, bytes] = {}  # remote updates waiting for the hole before them
        self.wanted = 0  # a carrier said updates up to here exist: read SQL if still missing

    @property
    def has_gap(self) -> bool:
        return bool(self.pending) or self.wanted > self.contiguous

    def rebase(self, seq: int) -> list[bytes]:
        """The Doc now holds everything up to `seq` (a load or a SQL catch-up)."""
        if seq > self.contiguous:
            self.contiguous = seq
        self.ahead = {s for s in self.ahead if s > self.contiguous}
        self.pending = {s: u for s, u in self.pending.items() if s > self.contiguous}
        return self._drain()

    def record_own(self, first: int, last: int) -> list[bytes]:
        """We committed `first..last`; return remote updates that may now apply, in order."""
        self.ahead.update(range(first, last + 1))
        return self._drain()

    def offer(self, seq: int, update: bytes) -> list[bytes]:
        """A remote update (or, when empty, a marker); return what may apply now, in order."""
        if seq <= self.contiguous or seq in self.ahead:
            return []
        if not update:
            self.wanted = max(self.wanted, seq)
            return []
        self.pending[seq] = update
        return self._drain()

    def _drain(self) -> list[bytes]:
        ready: list[bytes] = []
        while True:
            nxt = self.contiguous + 1
            if nxt in self.ahead:
                self.ahead.discard(nxt)
            elif nxt in self.pending:
                ready.append(self.pending.pop(nxt))
            else:
                return ready
            self.contiguous = nxt
