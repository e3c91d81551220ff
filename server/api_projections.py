"""REST reads served from the relational projections (persistence/projection_queries.py).

GET /api/v1/projects/{project_id}/tree                              the tree, paged
GET /api/v1/projects/{project_id}/flows/{flow_id}                   a flow's summary
GET /api/v1/projects/{project_id}/flows/{flow_id}/nodes             its nodes, paged
GET /api/v1/projects/{project_id}/flows/{flow_id}/connections       its connections, paged
GET /api/v1/projects/{project_id}/locales                           the project's locales
GET /api/v1/projects/{project_id}/locales/{locale}/texts            localization strings, paged
GET /api/v1/projects/{project_id}/{kind}/{doc_id}/backlinks         what references it, paged

Projections are written shortly after each commit (server/projector.py), so these lag the live
documents by the projection debounce; each item carries the document `seq` it was projected
from. Large lists come from indexed tables here, not from loading documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.responses import JSONResponse, Response

from persistence.projection_queries import (
    Backlink,
    FlowConnection,
    FlowNode,
    LocalizedText,
    Parent,
    ProjectionQueries,
    TreeEntry,
)
from server.api_models import page_of, ref
from server.api_pagination import DEFAULT_LIMIT, MAX_LIMIT, PageQuery, page_body, paginate
from server.api_registry import Api, Auth, Call, Endpoint
from server.api_schema import rule
from server.api_tree import ID_PATTERN
from server.http_auth import HttpError

StatusName = Literal["pending", "draft", "in_progress", "review", "final"]
_LIMIT = rule(minimum=1, maximum=MAX_LIMIT)
_CURSOR = rule(min_length=1, max_length=1000)
_SINGULAR = {"flows": "flow", "pages": "page"}
_PLURAL = {"flow": "flows", "page": "pages"}


@dataclass(frozen=True, slots=True)
class TreeQuery:
    """The whole tree by default; `parent_id` gives one parent's children ("" the top level)."""

    limit: int = field(default=DEFAULT_LIMIT, metadata=_LIMIT)
    cursor: str | None = field(default=None, metadata=_CURSOR)
    parent_id: str | None = field(default=None, metadata=rule(pattern=f"^$|{ID_PATTERN}"))
    kind: Literal["flows", "pages"] | None = None
    include_deleted: bool = False


@dataclass(frozen=True, slots=True)
class NodeQuery:
    """A flow's nodes by id; `type` keeps one node type."""

    limit: int = field(default=DEFAULT_LIMIT, metadata=_LIMIT)
    cursor: str | None = field(default=None, metadata=_CURSOR)
    type: str | None = field(default=None, metadata=rule(min_length=1, max_length=32))


@dataclass(frozen=True, slots=True)
class ConnectionQuery:
    """A flow's connections by id; `source_node_id` keeps those leaving one node."""

    limit: int = field(default=DEFAULT_LIMIT, metadata=_LIMIT)
    cursor: str | None = field(default=None, metadata=_CURSOR)
    source_node_id: str | None = field(default=None, metadata=rule(pattern=ID_PATTERN))


@dataclass(frozen=True, slots=True)
class TextQuery:
    """One locale's strings by source; `status` and `speaker` (a page id) filter them."""

    limit: int = field(default=DEFAULT_LIMIT, metadata=_LIMIT)
    cursor: str | None = field(default=None, metadata=_CURSOR)
    status: StatusName | None = None
    speaker: str | None = field(default=None, metadata=rule(pattern=ID_PATTERN))


def tree_entry_json(entry: TreeEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": _PLURAL.get(entry.kind, entry.kind),
        "name": entry.name,
        "shortcut": entry.shortcut,
        "parent_id": entry.parent_id,
        "position": entry.position,
        "deleted": entry.deleted,
        "seq": entry.seq,
    }


def node_json(node: FlowNode) -> dict[str, Any]:
    return {"id": node.id, "type": node.type, "x": node.x, "y": node.y, "data": node.data}


def connection_json(conn: FlowConnection) -> dict[str, Any]:
    return {
        "id": conn.id,
        "source_node_id": conn.source_node_id,
        "source_pin": conn.source_pin,
        "target_node_id": conn.target_node_id,
        "target_pin": conn.target_pin,
        "label": conn.label,
    }


def text_json(text: LocalizedText) -> dict[str, Any]:
    return {
        "doc_kind": text.doc_kind,
        "doc_id": text.doc_id,
        "source_type": text.source_type,
        "source_id": text.source_id,
        "source_field": text.source_field,
        "locale": text.locale_code,
        "source_text": text.source_text,
        "translated_text": text.translated_text,
        "status": text.status,
        "translator_notes": text.translator_notes,
        "speaker": text.speaker,
        "word_count": text.word_count,
        "seq": text.seq,
    }


def backlink_json(link: Backlink) -> dict[str, Any]:
    return {
        "doc_kind": link.doc_kind,
        "doc_id": link.doc_id,
        "source_type": link.source_type,
        "source_id": link.source_id,
        "context": link.context,
    }


def _page(items: list[dict[str, Any]], next_cursor: str | None) -> JSONResponse:
    return JSONResponse({"items": items, "next_cursor": next_cursor})


def register(api: Api, queries: ProjectionQueries) -> None:
    async def list_tree(call: Call) -> Response:
        query: TreeQuery = call.query
        parent: str | Parent | None = Parent.ANY if query.parent_id is None else query.parent_id
        page = await queries.tree(
            call.project_id,
            parent_id=parent or None,
            kind=None if query.kind is None else _SINGULAR[query.kind],
            include_deleted=query.include_deleted,
            limit=query.limit,
            cursor=query.cursor,
        )
        return _page([tree_entry_json(e) for e in page.items], page.next_cursor)

    async def get_flow(call: Call) -> Response:
        flow = await queries.flow(call.project_id, call.path["flow_id"])
        if flow is None:
            raise HttpError(404, "no such flow (or not projected yet)")
        return JSONResponse(
            {
                "id": flow.id,
                "name": flow.name,
                "shortcut": flow.shortcut,
                "description": flow.description,
                "is_main": flow.is_main,
                "entry_node_id": flow.entry_node_id,
                "node_count": flow.node_count,
                "connection_count": flow.connection_count,
                "seq": flow.seq,
            }
        )

    async def list_flow_nodes(call: Call) -> Response:
        query: NodeQuery = call.query
        page = await queries.flow_nodes(
            call.project_id,
            call.path["flow_id"],
            node_type=query.type,
            limit=query.limit,
            cursor=query.cursor,
        )
        if page is None:
            raise HttpError(404, "no such flow (or not projected yet)")
        return _page([node_json(n) for n in page.items], page.next_cursor)

    async def list_flow_connections(call: Call) -> Response:
        query: ConnectionQuery = call.query
        page = await queries.flow_connections(
            call.project_id,
            call.path["flow_id"],
            source_node_id=query.source_node_id,
            limit=query.limit,
            cursor=query.cursor,
        )
        if page is None:
            raise HttpError(404, "no such flow (or not projected yet)")
        return _page([connection_json(c) for c in page.items], page.next_cursor)

    async def list_locales(call: Call) -> Response:
        locales = await queries.locales(call.project_id)
        page, more = paginate(locales, lambda locale: (locale.position, locale.code), call.query)
        items = [{"code": lo.code, "name": lo.name, "is_source": lo.is_source} for lo in page]
        return JSONResponse(page_body(items, more))

    async def list_texts(call: Call) -> Response:
        query: TextQuery = call.query
        page = await queries.localized_texts(
            call.project_id,
            call.path["locale"],
            status=query.status,
            speaker=query.speaker,
            limit=query.limit,
            cursor=query.cursor,
        )
        return _page([text_json(t) for t in page.items], page.next_cursor)

    async def list_backlinks(call: Call) -> Response:
        query: PageQuery = call.query
        page = await queries.backlinks(
            call.project_id,
            _SINGULAR[call.path["kind"]],
            call.path["doc_id"],
            limit=query.limit,
            cursor=query.cursor,
        )
        return _page([backlink_json(b) for b in page.items], page.next_cursor)

    project = "/api/v1/projects/{project_id}"
    flow = f"{project}/flows/{{flow_id}}"
    for endpoint in (
        Endpoint(
            "GET", f"{project}/tree", list_tree, Auth.READ,
            "The project tree from its projection, by parent then position", "projections",
            response=page_of("TreeEntry"), query=TreeQuery,
        ),
        Endpoint(
            "GET", flow, get_flow, Auth.READ, "A flow's summary from its projection",
            "projections", response=ref("FlowSummary"),
        ),
        Endpoint(
            "GET", f"{flow}/nodes", list_flow_nodes, Auth.READ,
            "A flow's nodes from its projection, by id", "projections",
            response=page_of("ProjectedNode"), query=NodeQuery,
        ),
        Endpoint(
            "GET", f"{flow}/connections", list_flow_connections, Auth.READ,
            "A flow's connections from its projection, by id", "projections",
            response=page_of("Connection"), query=ConnectionQuery,
        ),
        Endpoint(
            "GET", f"{project}/locales", list_locales, Auth.READ,
            "The project's locales, by position", "projections",
            response=page_of("Locale"), query=PageQuery,
        ),
        Endpoint(
            "GET", f"{project}/locales/{{locale}}/texts", list_texts, Auth.READ,
            "Localization strings of one locale, by source", "projections",
            response=page_of("LocalizedText"), query=TextQuery,
        ),
        Endpoint(
            "GET", f"{project}/{{kind}}/{{doc_id}}/backlinks", list_backlinks, Auth.READ,
            "What references a flow or page, by where the reference is", "projections",
            response=page_of("Backlink"), query=PageQuery,
        ),
    ):  # fmt: skip
        api.add(endpoint)
