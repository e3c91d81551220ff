"""The SQL side of scheduled cleanup: old automatic versions, and documents whose log has
been idle long enough to fold into their snapshot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.schema import DocKey, DocKind
from persistence.engine import sqlite_write_lock
from persistence.models import Document, DocumentUpdate, DocumentVersion
from persistence.store import StoreUnavailable, VersionKind

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)


async def delete_auto_versions(engine: AsyncEngine, created_before: datetime) -> int:
    """Delete automatic versions older than `created_before`; named and restore versions stay,
    and so does each document's newest automatic version, so a document left alone for longer
    than the retention still has its last automatic state."""
    newest = (
        select(func.max(DocumentVersion.id))
        .where(DocumentVersion.kind == VersionKind.AUTO.value)
        .group_by(DocumentVersion.document_id)
    )
    statement = delete(DocumentVersion).where(
        DocumentVersion.kind == VersionKind.AUTO.value,
        DocumentVersion.created_at < created_before,
        DocumentVersion.id.not_in(newest),
    )
    lock = sqlite_write_lock(engine)
    try:
        if lock is not None:
            await lock.acquire()
        try:
            async with engine.begin() as conn:
                return int((await conn.execute(statement)).rowcount or 0)
        finally:
            if lock is not None:
                lock.release()
    except _FAULTS as exc:
        raise StoreUnavailable(f"version cleanup failed: {exc.__class__.__name__}") from exc


async def idle_documents(engine: AsyncEngine, idle_since: datetime, limit: int) -> list[DocKey]:
    """Documents with log rows, none of them newer than `idle_since`: compaction candidates."""
    statement = (
        select(Document.project_id, Document.kind, Document.doc_id)
        .join(DocumentUpdate, DocumentUpdate.document_id == Document.id)
        .group_by(Document.id, Document.project_id, Document.kind, Document.doc_id)
        .having(func.max(DocumentUpdate.created_at) < idle_since)
        .limit(limit)
    )
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
    except _FAULTS as exc:
        raise StoreUnavailable(f"idle document scan failed: {exc.__class__.__name__}") from exc
    return [DocKey(row.project_id, DocKind(row.kind), row.doc_id) for row in rows]
