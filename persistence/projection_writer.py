"""Writing a document's projection: its rows replaced in one transaction, newer only.

`projection_state` holds, per document, the `(seq, context_seq)` its rows reflect. A write
first upserts that row with a guard (only if the new pair is greater), and replaces the rows
only if the guard passed. The upsert takes the state row's lock, so two instances projecting
one document at once run one after the other, and the older projection finds the newer one
stored and writes nothing: the rows only move forward.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crdt.schema import DocKey
from persistence.engine import sqlite_write_lock
from persistence.models import Document
from persistence.projection import Projection
from persistence.projection_tables import metadata, projection_state
from persistence.store import StoreUnavailable

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)
_BATCH = 2000  # rows per INSERT: bounded statements, few round trips


class ProjectionWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = sqlite_write_lock(engine)

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        try:
            if self._lock is not None:
                await self._lock.acquire()
            try:
                async with self._engine.begin() as conn:
                    yield conn
            finally:
                if self._lock is not None:
                    self._lock.release()
        except _FAULTS as exc:
            raise StoreUnavailable(f"projection write failed: {exc.__class__.__name__}") from exc

    async def document_id(self, key: DocKey) -> int | None:
        """The internal id of a stored document, or None if it was never created."""
        try:
            async with self._engine.connect() as conn:
                result = await conn.execute(
                    select(Document.id).where(
                        Document.project_id == key.project_id,
                        Document.kind == key.kind.value,
                        Document.doc_id == key.doc_id,
                    )
                )
                found = result.scalar_one_or_none()
        except _FAULTS as exc:
            raise StoreUnavailable(f"projection read failed: {exc.__class__.__name__}") from exc
        return int(found) if found is not None else None

    async def write(
        self,
        key: DocKey,
        document_id: int,
        seq: int,
        projection: Projection,
        *,
        force: bool = False,
    ) -> bool:
        """Replace the document's rows with `projection` (of state `seq`); False if stale.

        Stale means the stored projection is newer than `(seq, projection.context_seq)`, or
        equal to it (unless `force`: a rebuild rewrites an equal projection).
        """
        now = datetime.now(UTC)
        async with self._write() as conn:
            if not await _claim(conn, key, document_id, seq, projection, now, force=force):
                return False
            for name, rows in projection.rows.items():
                await _replace(conn, metadata.tables[name], document_id, seq, rows)
        return True


async def _replace(
    conn: AsyncConnection, table: Table, document_id: int, seq: int, rows: list[dict[str, Any]]
) -> None:
    """Make the document's rows of `table` equal `rows`, touching only the rows that changed.

    An edit changes a few rows of a 1,000-node flow; rewriting all of them would cost most of
    the projection's time, hold SQLite's single write lock that long, and leave Postgres that
    many dead tuples to vacuum. Unchanged rows keep the `seq` of the projection that wrote them.
    """
    keys = [c.name for c in table.primary_key.columns if c.name != "document_id"]
    # Key columns first: a row's values start with its key (plain tuples are fast to compare).
    fields = keys + [c.name for c in table.columns if c.name not in ("document_id", "seq", *keys)]
    found = await conn.execute(
        select(*(table.c[name] for name in fields)).where(table.c.document_id == document_id)
    )
    n = len(keys)
    stored = {values[:n]: values for values in map(tuple, found)}
    wanted: dict[tuple[Any, ...], tuple[dict[str, Any], tuple[Any, ...]]] = {}
    for row in rows:
        values = tuple(row.get(f) for f in fields)
        wanted[values[:n]] = (row, values)
    gone = [k for k, values in stored.items() if k not in wanted or wanted[k][1] != values]
    if len(gone) > len(stored) // 2:  # mostly new: one delete is cheaper than one per row
        await conn.execute(delete(table).where(table.c.document_id == document_id))
        stored, gone = {}, []
    if gone:
        where = [table.c.document_id == bindparam("b_document")]
        where += [table.c[k] == bindparam(f"b_{k}") for k in keys]
        params = [
            {"b_document": document_id, **{f"b_{k}": v for k, v in zip(keys, key, strict=True)}}
            for key in gone
        ]
        await conn.execute(delete(table).where(*where), params)
    fresh = [
        {**row, "document_id": document_id, "seq": seq}
        for key, (row, values) in wanted.items()
        if stored.get(key) != values
    ]
    for start in range(0, len(fresh), _BATCH):
        await conn.execute(insert(table), fresh[start : start + _BATCH])


async def _claim(
    conn: AsyncConnection,
    key: DocKey,
    document_id: int,
    seq: int,
    projection: Projection,
    now: datetime,
    *,
    force: bool,
) -> bool:
    values: dict[str, Any] = {
        "document_id": document_id,
        "project_id": key.project_id,
        "kind": key.kind.value,
        "doc_id": key.doc_id,
        "seq": seq,
        "context_seq": projection.context_seq,
        "flags": projection.flags_json(),
        "projected_at": now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(projection_state).values(values)
    new, old = stmt.excluded, projection_state.c
    same = and_(old.seq == new.seq, old.context_seq == new.context_seq)
    newer = or_(
        old.seq < new.seq,
        and_(old.seq == new.seq, old.context_seq < new.context_seq),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[projection_state.c.document_id],
        set_={name: getattr(new, name) for name in values if name != "document_id"},
        where=or_(newer, same) if force else newer,
    ).returning(projection_state.c.document_id)
    return (await conn.execute(stmt)).first() is not None
