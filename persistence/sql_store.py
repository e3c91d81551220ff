"""`SqlDocumentStore`: the update log, snapshots and versions in SQLite or Postgres.

One code path for both databases (SQLAlchemy Core; the upsert is the one dialect-specific
statement). Sequence numbers come from `documents.last_seq`, bumped by an UPDATE whose row lock
serialises appenders of one document on every instance, so numbering is gapless. Loading reads
the snapshot and the rows after it in a single statement, so a concurrent compaction can never
slip between the two reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, insert, literal, null, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crdt.schema import DocKey
from persistence.engine import sqlite_write_lock
from persistence.models import Document, DocumentSnapshot, DocumentUpdate, DocumentVersion
from persistence.store import (
    PendingUpdate,
    StoredDocument,
    StoredVersion,
    StoreUnavailable,
    VersionInfo,
    VersionKind,
)

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)


def _now() -> datetime:
    return datetime.now(UTC)


class SqlDocumentStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._ids: dict[DocKey, int] = {}
        # SQLite has one writer per file; queueing our own writes (and the projection writer's)
        # avoids its lock-upgrade deadlocks between pooled connections of this process.
        self._write_lock = sqlite_write_lock(engine)
        self._appends: list[_Append] = []
        self._committer: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        lock = self._write_lock
        try:
            if lock is not None:
                await lock.acquire()
            try:
                async with self._engine.begin() as conn:
                    yield conn
            finally:
                if lock is not None:
                    lock.release()
        except _FAULTS as exc:
            raise StoreUnavailable(f"database write failed: {exc.__class__.__name__}") from exc

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                yield conn
        except _FAULTS as exc:
            raise StoreUnavailable(f"database read failed: {exc.__class__.__name__}") from exc

    async def _find(self, conn: AsyncConnection, key: DocKey) -> int | None:
        doc_id = self._ids.get(key)
        if doc_id is not None:
            return doc_id
        result = await conn.execute(
            select(Document.id).where(
                Document.project_id == key.project_id,
                Document.kind == key.kind.value,
                Document.doc_id == key.doc_id,
            )
        )
        doc_id = result.scalar_one_or_none()
        if doc_id is not None:
            self._ids[key] = doc_id
        return doc_id

    async def _ensure(self, conn: AsyncConnection, key: DocKey) -> int:
        doc_id = await self._find(conn, key)
        if doc_id is not None:
            return doc_id
        now = _now()
        values = {
            "project_id": key.project_id,
            "kind": key.kind.value,
            "doc_id": key.doc_id,
            "last_seq": 0,
            "created_at": now,
            "updated_at": now,
        }
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await conn.execute(dialect.insert(Document).values(values).on_conflict_do_nothing())
        doc_id = await self._find(conn, key)
        if doc_id is None:  # pragma: no cover - the row was just inserted or already there
            raise StoreUnavailable(f"document {key.name} could not be created")
        return doc_id

    async def load(self, key: DocKey) -> StoredDocument | None:
        return await self.load_since(key, 0)

    async def load_since(self, key: DocKey, seq: int) -> StoredDocument | None:
        async with self._read() as conn:
            doc_id = await self._find(conn, key)
            if doc_id is None:
                return None
            snapshot_seq = (
                select(DocumentSnapshot.seq)
                .where(DocumentSnapshot.document_id == doc_id)
                .scalar_subquery()
            )
            snapshot = select(
                DocumentSnapshot.seq,
                DocumentSnapshot.data,
                literal(0).label("part"),
                DocumentSnapshot.piece_ends,
            ).where(DocumentSnapshot.document_id == doc_id, DocumentSnapshot.seq > seq)
            log = select(
                DocumentUpdate.seq,
                DocumentUpdate.data,
                literal(1).label("part"),
                cast(null(), Text).label("piece_ends"),
            ).where(
                DocumentUpdate.document_id == doc_id,
                DocumentUpdate.seq > func.coalesce(snapshot_seq, 0),
                DocumentUpdate.seq > seq,
            )
            # One statement: a concurrent compaction cannot slip between the two reads.
            rows: Sequence[Any] = (
                await conn.execute(union_all(snapshot, log).order_by("part", "seq"))
            ).all()
        updates: list[bytes] = []
        for row in rows:
            updates.extend(_pieces(bytes(row.data), row.piece_ends))
        log_rows = [row for row in rows if row.part == 1]
        return StoredDocument(
            updates=updates,
            seq=max((row.seq for row in rows), default=seq),
            log_rows=len(log_rows),
            log_bytes=sum(len(row.data) for row in log_rows),
        )

    async def create(self, key: DocKey) -> None:
        async with self._write() as conn:
            await self._ensure(conn, key)

    async def append(self, key: DocKey, updates: Sequence[PendingUpdate]) -> int:
        if not updates:
            raise ValueError("append needs at least one update")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._appends.append(_Append(key, updates, done))
        if self._committer is None:
            self._committer = asyncio.get_running_loop().create_task(self._commit_appends())
        return await done

    async def _commit_appends(self) -> None:
        """Group commit across documents: every append queued meanwhile goes in one transaction.

        Each room already batches its own updates; this batches the rooms, so fifty busy rooms
        cost one transaction, not fifty queued behind each other.
        """
        try:
            while self._appends:
                batch, self._appends = self._appends, []
                try:
                    lasts = await self._append_batch(batch)
                except Exception as exc:
                    failure = (
                        exc
                        if isinstance(exc, StoreUnavailable)
                        else StoreUnavailable(f"append failed: {exc.__class__.__name__}")
                    )
                    for item in batch:
                        if not item.done.done():
                            item.done.set_exception(failure)
                    continue
                for item, last in zip(batch, lasts, strict=True):
                    if not item.done.done():
                        item.done.set_result(last)
        finally:
            self._committer = None

    async def _append_batch(self, batch: list[_Append]) -> list[int]:
        now = _now()
        async with self._write() as conn:
            ids = [await self._ensure(conn, item.key) for item in batch]
            totals: dict[int, int] = {}
            for doc_id, item in zip(ids, batch, strict=True):
                totals[doc_id] = totals.get(doc_id, 0) + len(item.updates)
            lasts = await _bump_sequences(conn, totals, now)
            next_seq = {doc_id: lasts[doc_id] - n + 1 for doc_id, n in totals.items()}
            rows: list[dict[str, Any]] = []
            result: list[int] = []
            for doc_id, item in zip(ids, batch, strict=True):
                first = next_seq[doc_id]
                rows.extend(
                    {
                        "document_id": doc_id,
                        "seq": first + i,
                        "data": pending.update,
                        "user_id": pending.user_id,
                        "origin": pending.origin,
                        "created_at": now,
                    }
                    for i, pending in enumerate(item.updates)
                )
                next_seq[doc_id] = first + len(item.updates)
                result.append(next_seq[doc_id] - 1)
            await conn.execute(_INSERT_UPDATE, rows)
        return result

    async def write_snapshot(self, key: DocKey, state: bytes | Sequence[bytes], seq: int) -> None:
        piece_ends = None
        if not isinstance(state, bytes):
            ends, end = [], 0
            for piece in state:
                end += len(piece)
                ends.append(str(end))
            piece_ends = ",".join(ends)
            state = b"".join(state)
        async with self._write() as conn:
            doc_id = await self._ensure(conn, key)
            values: dict[str, Any] = {
                "document_id": doc_id,
                "seq": seq,
                "data": state,
                "piece_ends": piece_ends,
                "created_at": _now(),
            }
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(DocumentSnapshot).values(values)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[DocumentSnapshot.document_id],
                    set_={
                        "seq": stmt.excluded.seq,
                        "data": stmt.excluded.data,
                        "piece_ends": stmt.excluded.piece_ends,
                        "created_at": stmt.excluded.created_at,
                    },
                    where=DocumentSnapshot.seq < stmt.excluded.seq,
                )
            )
            covered = (
                select(DocumentSnapshot.seq)
                .where(DocumentSnapshot.document_id == doc_id)
                .scalar_subquery()
            )
            await conn.execute(
                delete(DocumentUpdate).where(
                    DocumentUpdate.document_id == doc_id, DocumentUpdate.seq <= covered
                )
            )

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
        now = _now()
        async with self._write() as conn:
            doc_id = await self._ensure(conn, key)
            result = await conn.execute(
                insert(DocumentVersion)
                .values(
                    document_id=doc_id,
                    seq=seq,
                    kind=kind.value,
                    name=name,
                    author_id=author_id,
                    data=state,
                    created_at=now,
                )
                .returning(DocumentVersion.id)
            )
            version_id = int(result.scalar_one())
        return VersionInfo(version_id, seq, kind, name, author_id, now)

    async def list_versions(self, key: DocKey) -> list[VersionInfo]:
        async with self._read() as conn:
            doc_id = await self._find(conn, key)
            if doc_id is None:
                return []
            rows = await conn.execute(
                select(
                    DocumentVersion.id,
                    DocumentVersion.seq,
                    DocumentVersion.kind,
                    DocumentVersion.name,
                    DocumentVersion.author_id,
                    DocumentVersion.created_at,
                )
                .where(DocumentVersion.document_id == doc_id)
                .order_by(DocumentVersion.id.desc())
            )
            return [_info(row) for row in rows]

    async def get_version(self, key: DocKey, version_id: int) -> StoredVersion | None:
        async with self._read() as conn:
            doc_id = await self._find(conn, key)
            if doc_id is None:
                return None
            row = (
                await conn.execute(
                    select(DocumentVersion).where(
                        DocumentVersion.document_id == doc_id, DocumentVersion.id == version_id
                    )
                )
            ).first()
        if row is None:
            return None
        return StoredVersion(_info(row), bytes(row.data))

    async def check(self) -> None:
        async with self._read() as conn:
            await conn.execute(text("SELECT 1"))


@dataclass(slots=True)
class _Append:
    key: DocKey
    updates: Sequence[PendingUpdate]
    done: asyncio.Future[int]


_INSERT_UPDATE = text(
    "INSERT INTO document_updates (document_id, seq, data, user_id, origin, created_at) "
    "VALUES (:document_id, :seq, :data, :user_id, :origin, :created_at)"
)


async def _bump_sequences(
    conn: AsyncConnection, totals: dict[int, int], now: datetime
) -> dict[int, int]:
    """Hand out `n` numbers per document in one statement; return each one's new last_seq.

    The UPDATE's row locks serialise every appender of a document, on every instance.
    """
    params: dict[str, Any] = {"now": now}
    cases = []
    for index, (doc_id, n) in enumerate(sorted(totals.items())):
        params[f"i{index}"] = doc_id
        params[f"n{index}"] = n
        cases.append(f"WHEN :i{index} THEN CAST(:n{index} AS BIGINT)")
    ids = ", ".join(f":i{index}" for index in range(len(totals)))
    statement = text(
        f"UPDATE documents SET last_seq = last_seq + CASE id {' '.join(cases)} END, "  # noqa: S608 - only bind-parameter names are interpolated
        f"updated_at = :now WHERE id IN ({ids}) RETURNING id, last_seq"
    )
    rows = (await conn.execute(statement, params)).all()
    lasts = {int(row.id): int(row.last_seq) for row in rows}
    if set(lasts) != set(totals):
        raise StoreUnavailable("a document vanished while numbering its updates")
    return lasts


def _info(row: Any) -> VersionInfo:
    created: datetime = row.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes
        created = created.replace(tzinfo=UTC)
    return VersionInfo(
        id=row.id,
        seq=row.seq,
        kind=VersionKind(row.kind),
        name=row.name,
        author_id=row.author_id,
        created_at=created,
    )


def _pieces(data: bytes, piece_ends: str | None) -> list[bytes]:
    """A stored snapshot's pieces in order (one piece when it was stored whole)."""
    if not piece_ends:
        return [data]
    pieces, start = [], 0
    for end in map(int, piece_ends.split(",")):
        pieces.append(data[start:end])
        start = end
    if start != len(data):
        raise StoreUnavailable("snapshot pieces do not cover its data")
    return pieces
