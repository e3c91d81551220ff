"""The `DocumentStore` port: where rooms load documents from and append their updates to.

Implementations: `MemoryDocumentStore` (tests, and the contract every other one must meet);
the SQL store arrives with the durable-documents work. Errors an implementation cannot recover
from are raised as `StoreUnavailable`, which the server turns into close 1013 (retry later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from crdt.schema import DocKey


class StoreError(Exception):
    """Base of the persistence errors."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or refused a write; nothing was committed."""


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    update: bytes
    user_id: str | None  # None for server-made changes


@dataclass(frozen=True, slots=True)
class StoredDocument:
    updates: list[bytes]  # apply in order to rebuild the Doc
    seq: int  # the highest committed sequence number the updates contain


class DocumentStore(Protocol):
    async def load(self, key: DocKey) -> StoredDocument | None:
        """The document's durable state, or None if it was never written."""
        ...

    async def append(self, key: DocKey, updates: Sequence[PendingUpdate]) -> int:
        """Commit updates in order, as one transaction; return the last sequence number."""
        ...
