"""Reading the projection tables: the queries REST serves, with keyset pagination.

Every list is ordered by a unique sort key and paged by it: a page holds at most `limit` items
and a `next_cursor`, an opaque string encoding the last item's sort key, to pass back for the
next page (None on the last page). Unlike offsets, a cursor stays correct while rows are
replaced underneath, and each page is an index range scan (docs/database.md). A cursor that was
not made here raises `InvalidCursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.projection_tables import (
    entity_references,
    flow_connections,
    flow_nodes,
    flows,
    localized_texts,
    project_locales,
    projection_state,
    tree_entries,
)
from persistence.store import StoreUnavailable

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_FAULTS = (SQLAlchemyError, OSError, TimeoutError)


class InvalidCursor(ValueError):
    """A cursor this module did not make (REST answers 400)."""


class Parent(Enum):
    ANY = "any"  # `tree(parent_id=Parent.ANY)`: the whole tree, not one parent's children


@dataclass(frozen=True, slots=True)
class ResultPage(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TreeEntry:
    kind: str  # page | flow
    id: str
    parent_id: str | None  # as drawn: cycles and missing parents are cut (repair rules)
    position: str
    name: str | None
    shortcut: str | None
    deleted: bool
    seq: int


@dataclass(frozen=True, slots=True)
class ProjectLocale:
    code: str
    name: str
    is_source: bool
    position: float


@dataclass(frozen=True, slots=True)
class FlowSummary:
    id: str
    name: str | None
    shortcut: str | None
    description: str | None
    is_main: bool
    entry_node_id: str | None
    node_count: int
    connection_count: int
    seq: int


@dataclass(frozen=True, slots=True)
class FlowNode:
    id: str
    type: str | None
    x: float | None
    y: float | None
    data: dict[str, Any]
    seq: int


@dataclass(frozen=True, slots=True)
class FlowConnection:
    id: str
    source_node_id: str
    source_pin: str
    target_node_id: str
    target_pin: str
    label: str | None
    seq: int


@dataclass(frozen=True, slots=True)
class LocalizedText:
    doc_kind: str  # flows | pages: the document holding the source and its translations
    doc_id: str
    source_type: str
    source_id: str
    source_field: str
    locale_code: str
    source_text: str
    translated_text: str | None
    status: str
    translator_notes: str | None
    speaker: str | None
    word_count: int
    seq: int


@dataclass(frozen=True, slots=True)
class Backlink:
    doc_kind: str  # flows | pages: where the reference is
    doc_id: str
    source_type: str  # flow_node | block
    source_id: str
    context: str  # speaker | subflow | exit | target | value | dialogue | content
    seq: int


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("not a cursor of this list") from exc
    if not isinstance(key, list) or len(key) != size:
        raise InvalidCursor("not a cursor of this list")
    if not all(isinstance(part, str | int | float) for part in key):
        raise InvalidCursor("not a cursor of this list")
    return key


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


class ProjectionQueries:
    """The read side of the projection tables, for one database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _rows(self, query: Select[Any]) -> list[Any]:
        try:
            async with self._engine.connect() as conn:
                return list((await conn.execute(query)).all())
        except _FAULTS as exc:
            raise StoreUnavailable(f"projection read failed: {exc.__class__.__name__}") from exc

    async def _page(
        self,
        query: Select[Any],
        order: Sequence[ColumnElement[Any]],
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Any], str | None]:
        limit = _limit(limit)
        if cursor is not None:
            after = decode_cursor(cursor, len(order))
            query = query.where(tuple_(*order) > tuple_(*after))
        rows = await self._rows(query.order_by(*order).limit(limit + 1))
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        last = rows[-1]
        return rows, encode_cursor([last._mapping[column.key] for column in order])

    async def _flow_document(self, project_id: str, flow_id: str) -> int | None:
        rows = await self._rows(
            select(flows.c.document_id).where(
                flows.c.project_id == project_id, flows.c.id == flow_id
            )
        )
        return int(rows[0].document_id) if rows else None

    async def tree(
        self,
        project_id: str,
        *,
        parent_id: str | Parent | None = Parent.ANY,
        kind: str | None = None,
        include_deleted: bool = False,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ResultPage[TreeEntry]:
        """Tree entries by (parent, position, kind, id): one parent's children (None: the
        roots), or the whole tree grouped by parent."""
        t = tree_entries.c
        query = select(tree_entries).where(t.project_id == project_id)
        if parent_id is not Parent.ANY:
            query = query.where(t.parent_id == (parent_id or ""))
        if kind is not None:
            query = query.where(t.kind == kind)
        if not include_deleted:
            query = query.where(t.deleted.is_(False))
        rows, next_cursor = await self._page(
            query, [t.parent_id, t.position, t.kind, t.id], cursor, limit
        )
        items = [
            TreeEntry(
                kind=r.kind,
                id=r.id,
                parent_id=r.parent_id or None,
                position=r.position,
                name=r.name,
                shortcut=r.shortcut,
                deleted=bool(r.deleted),
                seq=int(r.seq),
            )
            for r in rows
        ]
        return ResultPage(items, next_cursor)

    async def projected_seq(self, project_id: str, kind: str, doc_id: str = "") -> int | None:
        """The document state (`seq`) its rows reflect, or None if it was never projected.

        `kind` is `tree`, `flows` or `pages`. Compare with a commit's seq to tell a caller
        whether the lists already show its edit.
        """
        s = projection_state.c
        rows = await self._rows(
            select(s.seq).where(s.project_id == project_id, s.kind == kind, s.doc_id == doc_id)
        )
        return int(rows[0].seq) if rows else None

    async def locales(self, project_id: str) -> list[ProjectLocale]:
        """The project's locales, by position then code."""
        c = project_locales.c
        rows = await self._rows(
            select(project_locales)
            .where(c.project_id == project_id)
            .order_by(c.position, c.locale_code)
        )
        return [
            ProjectLocale(r.locale_code, r.name, bool(r.is_source), float(r.position)) for r in rows
        ]

    async def flow(self, project_id: str, flow_id: str) -> FlowSummary | None:
        """A projected flow, or None if it has no projection (yet)."""
        rows = await self._rows(
            select(flows).where(flows.c.project_id == project_id, flows.c.id == flow_id)
        )
        if not rows:
            return None
        r = rows[0]
        return FlowSummary(
            id=r.id,
            name=r.name,
            shortcut=r.shortcut,
            description=r.description,
            is_main=bool(r.is_main),
            entry_node_id=r.entry_node_id,
            node_count=int(r.node_count),
            connection_count=int(r.connection_count),
            seq=int(r.seq),
        )

    async def flow_nodes(
        self,
        project_id: str,
        flow_id: str,
        *,
        node_type: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ResultPage[FlowNode] | None:
        """A flow's nodes by id (optionally of one type); None if the flow has no projection."""
        if cursor is not None:
            decode_cursor(cursor, 1)  # a bad cursor is refused even when the flow is unknown
        document_id = await self._flow_document(project_id, flow_id)
        if document_id is None:
            return None
        n = flow_nodes.c
        query = select(flow_nodes).where(n.document_id == document_id)
        if node_type is not None:
            query = query.where(n.type == node_type)
        rows, next_cursor = await self._page(query, [n.id], cursor, limit)
        items = [FlowNode(r.id, r.type, r.x, r.y, dict(r.data), int(r.seq)) for r in rows]
        return ResultPage(items, next_cursor)

    async def flow_connections(
        self,
        project_id: str,
        flow_id: str,
        *,
        source_node_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ResultPage[FlowConnection] | None:
        """A flow's connections by id (optionally leaving one node); None without a projection."""
        if cursor is not None:
            decode_cursor(cursor, 1)  # a bad cursor is refused even when the flow is unknown
        document_id = await self._flow_document(project_id, flow_id)
        if document_id is None:
            return None
        c = flow_connections.c
        query = select(flow_connections).where(c.document_id == document_id)
        if source_node_id is not None:
            query = query.where(c.source_node_id == source_node_id)
        rows, next_cursor = await self._page(query, [c.id], cursor, limit)
        items = [
            FlowConnection(
                r.id,
                r.source_node_id,
                r.source_pin,
                r.target_node_id,
                r.target_pin,
                r.label,
                int(r.seq),
            )
            for r in rows
        ]
        return ResultPage(items, next_cursor)

    async def localized_texts(
        self,
        project_id: str,
        locale_code: str,
        *,
        status: str | None = None,
        speaker: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ResultPage[LocalizedText]:
        """Localization strings of one locale (optionally one status, or one speaker's lines),
        by (source type, source id, field, document)."""
        c = localized_texts.c
        query = select(localized_texts).where(
            c.project_id == project_id, c.locale_code == locale_code
        )
        if status is not None:
            query = query.where(c.status == status)
        if speaker is not None:
            query = query.where(c.speaker == speaker)
        order = [c.source_type, c.source_id, c.source_field, c.document_id]
        rows, next_cursor = await self._page(query, order, cursor, limit)
        items = [
            LocalizedText(
                doc_kind=r.doc_kind,
                doc_id=r.doc_id,
                source_type=r.source_type,
                source_id=r.source_id,
                source_field=r.source_field,
                locale_code=r.locale_code,
                source_text=r.source_text,
                translated_text=r.translated_text,
                status=r.status,
                translator_notes=r.translator_notes,
                speaker=r.speaker,
                word_count=int(r.word_count),
                seq=int(r.seq),
            )
            for r in rows
        ]
        return ResultPage(items, next_cursor)

    async def backlinks(
        self,
        project_id: str,
        target_type: str,
        target_id: str,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ResultPage[Backlink]:
        """What references a page or flow (`target_type` page | flow), by where it is."""
        refs = entity_references.c
        query = select(entity_references).where(
            refs.project_id == project_id,
            refs.target_type == target_type,
            refs.target_id == target_id,
        )
        order = [refs.doc_kind, refs.doc_id, refs.source_type, refs.source_id, refs.context]
        rows, next_cursor = await self._page(query, order, cursor, limit)
        items = [
            Backlink(r.doc_kind, r.doc_id, r.source_type, r.source_id, r.context, int(r.seq))
            for r in rows
        ]
        return ResultPage(items, next_cursor)
