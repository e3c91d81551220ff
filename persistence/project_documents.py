"""Which documents a project holds, for whole-project work (exports)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.schema import DocKey, DocKind
from persistence.models import Document
from persistence.store import StoreUnavailable

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)


async def project_documents(engine: AsyncEngine, project_id: str) -> list[tuple[DocKey, int]]:
    """Every document of a project with its last sequence number, the tree first."""
    statement = (
        select(Document.kind, Document.doc_id, Document.last_seq)
        .where(Document.project_id == project_id)
        .order_by(Document.kind != DocKind.TREE.value, Document.kind, Document.doc_id)
    )
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
    except _FAULTS as exc:
        raise StoreUnavailable(f"document listing failed: {exc.__class__.__name__}") from exc
    return [(DocKey(project_id, DocKind(row.kind), row.doc_id), row.last_seq) for row in rows]
