"""Projecting one stored document: load it, compute its rows off the event loop, write them.

Used by the server's projector (after commits) and by `storyarn projections rebuild`. The
document is read from the store, not from a live room, so the rows reflect exactly the
committed state at a known `seq`, whichever instance does the work. Decoding and projecting
run in a worker thread, on a Doc that lives and dies in that thread (pycrdt Docs must stay on
one thread, notes/pycrdt.md).

A flow or page projection depends on the tree (locales; page names; flow names and
shortcuts). After the tree is projected, `Outcome.dependents` names the documents whose rows
are now out of date.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.schema import DocKey, DocKind
from persistence.models import Document
from persistence.projection import (
    ProjectContext,
    Projection,
    project_flow,
    project_page,
    project_tree,
)
from persistence.projection_tables import project_locales, projection_state, tree_entries
from persistence.projection_writer import ProjectionWriter
from persistence.store import DocumentStore, StoreUnavailable

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)


@dataclass(frozen=True)
class Outcome:
    key: DocKey
    seq: int = 0
    written: bool = False  # False: nothing stored, or a newer projection already was
    flags: int = 0
    dependents: tuple[DocKey, ...] = field(default=())


def compute(key: DocKey, updates: Sequence[bytes], context: ProjectContext) -> Projection:
    """Rebuild the Doc from its stored updates and project it (pure; runs in any thread)."""
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    if key.kind is DocKind.TREE:
        return project_tree(doc, key.project_id)
    if key.kind is DocKind.FLOW:
        return project_flow(doc, key.project_id, key.doc_id, context)
    return project_page(doc, key.project_id, key.doc_id, context)


class ProjectionRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        store: DocumentStore,
        *,
        executor: Executor | None = None,
        large: tuple[Callable[[], Executor], int] | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._writer = ProjectionWriter(engine)
        self._executor = executor
        # (a process pool, the stored size above which to use it): a thread still holds the
        # GIL while Yrs decodes a document, which for a 20 MB one stalls the event loop.
        self._large = large
        self._ids: dict[DocKey, int] = {}

    async def project(self, key: DocKey, *, force: bool = False) -> Outcome:
        """Project the stored state of `key`; see `ProjectionWriter.write` for `force`."""
        stored = await self._store.load(key)
        document_id = self._ids.get(key)
        if document_id is None:
            document_id = await self._writer.document_id(key)
            if document_id is not None:
                self._ids[key] = document_id  # never changes while the row exists
        if stored is None or document_id is None:
            return Outcome(key)  # never created, or not in this database (a memory store)
        before = await self.context(key.project_id)
        loop = asyncio.get_running_loop()
        executor = self._executor
        if self._large is not None and sum(len(u) for u in stored.updates) > self._large[1]:
            executor = self._large[0]()
        projection = await loop.run_in_executor(
            executor, compute, key, list(stored.updates), before
        )
        try:
            written = await self._writer.write(
                key, document_id, stored.seq, projection, force=force
            )
        except BaseException:
            self._ids.pop(key, None)  # in case the document row was replaced (a restore)
            raise
        dependents: tuple[DocKey, ...] = ()
        if written and key.kind is DocKind.TREE:
            dependents = await self._dependents(key.project_id, before, projection)
        return Outcome(key, stored.seq, written, len(projection.flags), dependents)

    async def context(self, project_id: str) -> ProjectContext:
        """What flows and pages of the project need from its projected tree."""
        try:
            async with self._engine.connect() as conn:
                seq = (
                    await conn.execute(
                        select(projection_state.c.seq).where(
                            projection_state.c.project_id == project_id,
                            projection_state.c.kind == DocKind.TREE.value,
                        )
                    )
                ).scalar_one_or_none()
                locales = (
                    await conn.execute(
                        select(project_locales.c.locale_code, project_locales.c.is_source)
                        .where(project_locales.c.project_id == project_id)
                        .order_by(project_locales.c.position, project_locales.c.locale_code)
                    )
                ).all()
                entries = (
                    await conn.execute(
                        select(
                            tree_entries.c.kind,
                            tree_entries.c.id,
                            tree_entries.c.name,
                            tree_entries.c.shortcut,
                        ).where(tree_entries.c.project_id == project_id)
                    )
                ).all()
        except _FAULTS as exc:
            raise StoreUnavailable(f"projection read failed: {exc.__class__.__name__}") from exc
        source = next((row.locale_code for row in locales if row.is_source), None)
        return ProjectContext(
            seq=int(seq or 0),
            source_locale=source,
            target_locales=tuple(row.locale_code for row in locales if row.locale_code != source),
            page_names={r.id: r.name for r in entries if r.kind == "page" and r.name},
            flow_titles={r.id: (r.name, r.shortcut) for r in entries if r.kind == "flow"},
        )

    async def _dependents(
        self, project_id: str, before: ProjectContext, tree: Projection
    ) -> tuple[DocKey, ...]:
        locales = tree.rows["project_locales"]
        source = next((row["locale_code"] for row in locales if row["is_source"]), None)
        targets = tuple(row["locale_code"] for row in locales if row["locale_code"] != source)
        entries = tree.rows["tree_entries"]
        names = {r["id"]: r["name"] for r in entries if r["kind"] == "page" and r["name"]}
        titles = {r["id"]: (r["name"], r["shortcut"]) for r in entries if r["kind"] == "flow"}
        documents = await self.documents(project_id)
        if (source, targets) != (before.source_locale, before.target_locales):
            return tuple(key for key in documents if key.kind is not DocKind.TREE)
        renamed = {
            (DocKind.PAGE, page)
            for page in names.keys() | before.page_names.keys()
            if names.get(page) != before.page_names.get(page)
        } | {
            (DocKind.FLOW, flow)
            for flow in titles.keys() | before.flow_titles.keys()
            if titles.get(flow) != before.flow_titles.get(flow)
        }
        return tuple(k for k in documents if (k.kind, k.doc_id) in renamed)

    async def stale_documents(self, limit: int = 10_000) -> list[DocKey]:
        """Documents with commits their projection does not reflect (a crash, a restart).

        Trees first, so that flows and pages are then projected with the current locales.
        """
        state = projection_state
        query = (
            select(Document.project_id, Document.kind, Document.doc_id)
            .outerjoin(state, state.c.document_id == Document.id)
            .where(Document.last_seq > func.coalesce(state.c.seq, 0))
            .order_by((Document.kind != DocKind.TREE.value), Document.id)
            .limit(limit)
        )
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        except _FAULTS as exc:
            raise StoreUnavailable(f"projection read failed: {exc.__class__.__name__}") from exc
        return [DocKey(row.project_id, DocKind(row.kind), row.doc_id) for row in rows]

    async def projects(self) -> list[str]:
        """Every project that has stored documents."""
        try:
            async with self._engine.connect() as conn:
                rows = await conn.execute(
                    select(Document.project_id).distinct().order_by(Document.project_id)
                )
                return [str(row.project_id) for row in rows]
        except _FAULTS as exc:
            raise StoreUnavailable(f"projection read failed: {exc.__class__.__name__}") from exc

    async def documents(self, project_id: str) -> list[DocKey]:
        """Every stored document of a project: the tree first, then flows and pages by id."""
        try:
            async with self._engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(Document.kind, Document.doc_id)
                        .where(Document.project_id == project_id)
                        .order_by(Document.kind, Document.doc_id)
                    )
                ).all()
        except _FAULTS as exc:
            raise StoreUnavailable(f"projection read failed: {exc.__class__.__name__}") from exc
        keys = [DocKey(project_id, DocKind(row.kind), row.doc_id) for row in rows]
        return sorted(keys, key=lambda k: (k.kind is not DocKind.TREE, k.kind.value, k.doc_id))
