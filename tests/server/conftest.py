from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pycrdt import Doc, Map

from crdt.schema import DocKey
from persistence.memory import MemoryDocumentStore
from persistence.store import PendingUpdate, StoredDocument, StoreUnavailable


class CountingStore(MemoryDocumentStore):
    """The in-memory store, counting calls and able to hold loads or fail appends on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: dict[DocKey, int] = {}
        self.appends = 0
        self.load_gate: asyncio.Event | None = None
        self.fail_appends = False

    async def load(self, key: DocKey) -> StoredDocument | None:
        self.loads[key] = self.loads.get(key, 0) + 1
        if self.load_gate is not None:
            await self.load_gate.wait()
        return await super().load(key)

    async def append(self, key: DocKey, updates: Sequence[PendingUpdate]) -> int:
        self.appends += 1
        if self.fail_appends:
            raise StoreUnavailable("disk on fire")
        return await super().append(key, updates)


def set_node(doc: Doc[Any], node_id: str, **fields: object) -> None:
    nodes = doc.get("nodes", type=Map)
    nodes[node_id] = Map(dict(fields))
