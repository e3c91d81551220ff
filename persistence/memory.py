"""An in-process `DocumentStore`: dicts of logs, snapshots and versions. Lost on exit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crdt.schema import DocKey
from persistence.store import (
    PendingUpdate,
    StoredDocument,
    StoredVersion,
    VersionInfo,
    VersionKind,
)


@dataclass
class _Doc:
    last_seq: int = 0
    snapshot: tuple[int, list[bytes]] | None = None  # pieces that apply in order
    log: list[tuple[int, bytes]] = field(default_factory=list)
    versions: list[StoredVersion] = field(default_factory=list)


class MemoryDocumentStore:
    def __init__(self) -> None:
        self._docs: dict[DocKey, _Doc] = {}
        self._version_ids = 0

    async def load(self, key: DocKey) -> StoredDocument | None:
        return await self.load_since(key, 0)

    async def load_since(self, key: DocKey, seq: int) -> StoredDocument | None:
        await asyncio.sleep(0)  # a real store always yields; tests should meet that ordering
        doc = self._docs.get(key)
        if doc is None:
            return None
        snapshot = doc.snapshot if doc.snapshot is not None and doc.snapshot[0] > seq else None
        log = [(s, d) for s, d in doc.log if s > seq]
        updates = ([] if snapshot is None else list(snapshot[1])) + [d for _, d in log]
        last = max([seq] + [s for s, _ in log] + ([snapshot[0]] if snapshot else []))
        return StoredDocument(updates, last, len(log), sum(len(d) for _, d in log))

    async def create(self, key: DocKey) -> None:
        await asyncio.sleep(0)
        self._docs.setdefault(key, _Doc())

    async def append(self, key: DocKey, updates: Sequence[PendingUpdate]) -> int:
        await asyncio.sleep(0)
        doc = self._docs.setdefault(key, _Doc())
        for item in updates:
            doc.last_seq += 1
            doc.log.append((doc.last_seq, item.update))
        return doc.last_seq

    async def write_snapshot(self, key: DocKey, state: bytes | Sequence[bytes], seq: int) -> None:
        await asyncio.sleep(0)
        doc = self._docs.setdefault(key, _Doc())
        if doc.snapshot is None or doc.snapshot[0] < seq:
            doc.snapshot = (seq, [state] if isinstance(state, bytes) else list(state))
        covered = doc.snapshot[0]
        doc.log = [(s, d) for s, d in doc.log if s > covered]

    async def save_version(
        self,
        key: DocKey,
        state: bytes,
        seq: int,
        *,
        kind: VersionKind,
        name: str | None,
        author_id: str | None,
    ) -> VersionInfo:
        await asyncio.sleep(0)
        self._version_ids += 1
        info = VersionInfo(self._version_ids, seq, kind, name, author_id, datetime.now(UTC))
        self._docs.setdefault(key, _Doc()).versions.append(StoredVersion(info, state))
        return info

    async def list_versions(self, key: DocKey) -> list[VersionInfo]:
        await asyncio.sleep(0)
        doc = self._docs.get(key)
        return [] if doc is None else [v.info for v in reversed(doc.versions)]

    async def get_version(self, key: DocKey, version_id: int) -> StoredVersion | None:
        await asyncio.sleep(0)
        doc = self._docs.get(key)
        if doc is None:
            return None
        return next((v for v in doc.versions if v.info.id == version_id), None)

    async def check(self) -> None:
        return None
