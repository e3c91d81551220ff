"""An in-process `DocumentStore`: a dict of update logs. Loses everything on exit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from crdt.schema import DocKey
from persistence.store import PendingUpdate, StoredDocument


class MemoryDocumentStore:
    def __init__(self) -> None:
        self._logs: dict[DocKey, list[bytes]] = {}

    async def load(self, key: DocKey) -> StoredDocument | None:
        await asyncio.sleep(0)  # a real store always yields; tests should meet that ordering
        log = self._logs.get(key)
        if log is None:
            return None
        return StoredDocument(list(log), len(log))

    async def append(self, key: DocKey, updates: Sequence[PendingUpdate]) -> int:
        await asyncio.sleep(0)
        log = self._logs.setdefault(key, [])
        log.extend(item.update for item in updates)
        return len(log)
