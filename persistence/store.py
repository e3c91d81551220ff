"""The `DocumentStore` port: where rooms load documents from and append their updates to.

Implementations: `MemoryDocumentStore` (tests; the contract every other one must meet) and
`SqlDocumentStore` (SQLite or Postgres). One contract test body runs against all of them.
Errors an implementation cannot recover from are raised as `StoreUnavailable`, which the server
turns into retries (commits) or close 1013 (loads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from crdt.schema import DocKey


class StoreError(Exception):
    """Base of the persistence errors."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or refused a write; nothing was committed."""


class VersionKind(StrEnum):
    NAMED = "named"
    AUTO = "auto"
    RESTORE = "restore"  # the state a restore produced, kept so it can be undone


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    update: bytes
    user_id: str | None  # None for changes made by the server itself
    origin: str  # "conn:<id>", "server", ...: who sent it, for the audit trail


@dataclass(frozen=True, slots=True)
class StoredDocument:
    updates: list[bytes]  # apply in order to rebuild the Doc (snapshot first, then the log)
    seq: int  # the highest sequence number the updates contain
    log_rows: int  # log rows after the snapshot: what compaction would fold in
    log_bytes: int


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    seq: int
    kind: VersionKind
    name: str | None
    author_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredVersion:
    info: VersionInfo
    state: bytes  # the document's full state as a Yjs update


class DocumentStore(Protocol):
    async def load(self, key: DocKey) -> StoredDocument | None:
        """The document's durable state, or None if it was never created."""
        ...

    async def load_since(self, key: DocKey, seq: int) -> StoredDocument | None:
        """What a holder of every update up to `seq` lacks: the log rows after it, or the
        snapshot and the rows after that when compaction folded some of them away."""
        ...

    async def create(self, key: DocKey) -> None:
        """Make the document exist (empty) if it does not; idempotent."""
        ...

    async def append(self, key: DocKey, updates: Sequence[PendingUpdate]) -> int:
        """Commit updates in order, as one transaction; return the last sequence number.

        Sequence numbers are gapless per document and never reused, whoever appends.
        """
        ...

    async def write_snapshot(self, key: DocKey, state: bytes | Sequence[bytes], seq: int) -> None:
        """Store `state` (every update up to `seq`) and drop the log rows it covers.

        `state` is one update, or pieces that apply in order (a large document cut by
        `crdt.update_split`); `load` returns the pieces as consecutive updates.

        A snapshot older than the stored one is ignored, so concurrent compactions of one
        document by two instances leave the newest snapshot and a log that still holds
        everything after it.
        """
        ...

    async def save_version(
        self,
        key: DocKey,
        state: bytes,
        seq: int,
        *,
        kind: VersionKind,
        name: str | None,
        author_id: str | None,
    ) -> VersionInfo: ...

    async def list_versions(self, key: DocKey) -> list[VersionInfo]:
        """Newest first."""
        ...

    async def get_version(self, key: DocKey, version_id: int) -> StoredVersion | None: ...

    async def check(self) -> None:
        """Raise `StoreUnavailable` unless the store answers now (readiness)."""
        ...
