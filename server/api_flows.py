"""REST on a flow's live document: read it as JSON; add, change and delete nodes and connections.

GET    /api/v1/projects/{project_id}/flows/{flow_id}/document
POST   /api/v1/projects/{project_id}/flows/{flow_id}/nodes
PATCH  /api/v1/projects/{project_id}/flows/{flow_id}/nodes/{node_id}
DELETE /api/v1/projects/{project_id}/flows/{flow_id}/nodes/{node_id}
POST   /api/v1/projects/{project_id}/flows/{flow_id}/connections
PATCH  /api/v1/projects/{project_id}/flows/{flow_id}/connections/{connection_id}
DELETE /api/v1/projects/{project_id}/flows/{flow_id}/connections/{connection_id}

Edits go through `crdt/views/flow_edit.py` (type defaults, pins, the single entry node) as one
authored update each. What names something missing in the body (a node, a pin) is a 422; what
collides with the document's state (an id in use, a second entry, duplicate pins) a 409.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from pycrdt import Doc
from starlette.responses import JSONResponse, Response

from crdt.schema import DocKey, DocKind
from crdt.views import (
    NodeType,
    accepts_output,
    add_node,
    connect,
    disconnect,
    flow_to_json,
    input_pins,
    move_node,
    read_flow,
    remove_node,
    update_node_data,
)
from crdt.views.flow import ConnectionData, FlowData, NodeData
from crdt.views.flow_edit import set_connection_label
from crdt.views.nodes import default_data
from server.api_documents import Documents
from server.api_models import ref
from server.api_registry import Api, Auth, Call, Endpoint
from server.api_schema import detail, invalid, rule
from server.api_tree import ID_PATTERN
from server.http_auth import HttpError

NodeTypeName = Literal[
    "entry", "exit", "dialogue", "hub", "jump", "condition", "instruction", "subflow", "annotation"
]
# Runtime keys that exports and localization rows point at (crdt/views/flow_edit.py).
STABLE_FIELDS = ("localizationId", "hubId")
_COORDINATE = rule(minimum=-1e9, maximum=1e9)
_PIN = rule(min_length=1, max_length=100)


@dataclass(frozen=True, slots=True)
class CreateNode:
    """A node with its type's default `data`, overridden by the given fields (JSON form)."""

    type: NodeTypeName
    x: float = field(default=0.0, metadata=_COORDINATE)
    y: float = field(default=0.0, metadata=_COORDINATE)
    id: str | None = field(default=None, metadata=rule(pattern=ID_PATTERN))
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class UpdateNode:
    """A new place on the canvas and/or `data` fields to set (others are left alone)."""

    x: float | None = field(default=None, metadata=_COORDINATE)
    y: float | None = field(default=None, metadata=_COORDINATE)
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CreateConnection:
    """An edge from an output pin of one node to an input pin of another."""

    source_node_id: str = field(metadata=rule(pattern=ID_PATTERN))
    source_pin: str = field(metadata=_PIN)
    target_node_id: str = field(metadata=rule(pattern=ID_PATTERN))
    target_pin: str = field(default="input", metadata=_PIN)
    label: str | None = field(default=None, metadata=rule(max_length=200))
    id: str | None = field(default=None, metadata=rule(pattern=ID_PATTERN))


@dataclass(frozen=True, slots=True)
class UpdateConnection:
    """The connection's new label (null clears it)."""

    label: str | None = field(metadata=rule(max_length=200))


def node_json(node: NodeData) -> dict[str, Any]:
    return {
        "id": node.id,
        "type": None if node.type is None else node.type.value,
        "x": node.x,
        "y": node.y,
        "data": dict(node.data),
        "inputs": list(node.inputs),
        "outputs": list(node.outputs),
    }


def connection_json(conn: ConnectionData) -> dict[str, Any]:
    return {
        "id": conn.id,
        "source_node_id": conn.source_node_id,
        "source_pin": conn.source_pin,
        "target_node_id": conn.target_node_id,
        "target_pin": conn.target_pin,
        "label": conn.label,
    }


def _node(flow: FlowData, node_id: str) -> NodeData:
    node = flow.nodes.get(node_id)
    if node is None:
        raise HttpError(404, "no such node")
    return node


def _check_fields(node_type: NodeType, node_id: str, data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - set(default_data(node_type, node_id)))
    if unknown:
        raise HttpError(
            422,
            f"{node_type.value} nodes have no field(s) {', '.join(unknown)}",
            details=[
                detail(f"data.{name}", "is not a field of this node type") for name in unknown
            ],
        )


def _check_stable(node: NodeData, data: dict[str, Any]) -> None:
    # flow_edit refuses these too, but only when it reaches them, after writing the fields
    # before them: checked here first, a refused request writes nothing.
    for name in STABLE_FIELDS:
        current = node.data.get(name)
        if name in data and current and data[name] != current:
            raise HttpError(
                422,
                f"{name} is set once and never changed",
                code="refused_edit",
                details=[detail(f"data.{name}", "is set once and never changed")],
            )


def _check_ends(flow: FlowData, body: CreateConnection) -> None:
    problems = []
    source, target = flow.nodes.get(body.source_node_id), flow.nodes.get(body.target_node_id)
    if source is None:
        problems.append(detail("source_node_id", "names no node of this flow"))
    elif not accepts_output(source.type, source.data, body.source_pin):
        problems.append(detail("source_pin", f"is not an output of node {source.id}"))
    if target is None:
        problems.append(detail("target_node_id", "names no node of this flow"))
    elif body.target_pin not in input_pins(target.type):
        problems.append(detail("target_pin", f"is not an input of node {target.id}"))
    if body.source_node_id == body.target_node_id:
        problems.append(detail("target_node_id", "is the source node: no self connections"))
    if problems:
        summary = "; ".join(f"{p['field']} {p['message']}" for p in problems)
        raise HttpError(422, summary, details=problems)
    key = (body.source_node_id, body.source_pin, body.target_node_id, body.target_pin)
    for conn in flow.connections.values():
        if key == (conn.source_node_id, conn.source_pin, conn.target_node_id, conn.target_pin):
            raise HttpError(409, f"these pins are already connected by {conn.id}", code="exists")


def _flow_document(doc: Doc[Any]) -> dict[str, Any]:
    problems = [{"path": p.path, "message": p.message} for p in read_flow(doc).problems]
    return {"document": flow_to_json(doc), "problems": problems}


def register(api: Api, documents: Documents) -> None:
    def key(call: Call) -> DocKey:
        return DocKey(call.project_id, DocKind.FLOW, call.path["flow_id"])

    async def get_flow_document(call: Call) -> Response:
        document = await documents.read(key(call), _flow_document, cached=True)
        return JSONResponse({"id": call.path["flow_id"], **document})

    async def create_node(call: Call) -> Response:
        body: CreateNode = call.body
        node_id = body.id or str(uuid.uuid4())
        node_type = NodeType(body.type)
        data = body.data or {}
        _check_fields(node_type, node_id, data)

        def edit(doc: Doc[Any]) -> dict[str, Any]:
            flow = read_flow(doc)
            if node_id in flow.nodes:
                raise HttpError(409, f"node {node_id!r} already exists", code="exists")
            if node_type is NodeType.ENTRY and flow.entry is not None:
                raise HttpError(409, "a flow has exactly one entry node", code="entry_exists")
            add_node(doc, node_id, node_type, body.x, body.y, **data)
            return node_json(_node(read_flow(doc), node_id))

        node = await documents.edit(key(call), call.user_id, edit)
        return JSONResponse(node, status_code=201)

    async def update_node(call: Call) -> Response:
        body: UpdateNode = call.body
        node_id: str = call.path["node_id"]

        def edit(doc: Doc[Any]) -> dict[str, Any]:
            node = _node(read_flow(doc), node_id)
            if body.data:
                if node.type is None:
                    raise invalid("data", "cannot be set on a node of unknown type")
                _check_fields(node.type, node_id, body.data)
                _check_stable(node, body.data)
                update_node_data(doc, node_id, **body.data)
            if body.x is not None or body.y is not None:
                x = node.x if body.x is None else body.x
                move_node(doc, node_id, x, node.y if body.y is None else body.y)
            return node_json(_node(read_flow(doc), node_id))

        return JSONResponse(await documents.edit(key(call), call.user_id, edit))

    async def delete_node(call: Call) -> Response:
        node_id: str = call.path["node_id"]

        def edit(doc: Doc[Any]) -> None:
            if _node(read_flow(doc), node_id).type is NodeType.ENTRY:
                raise HttpError(409, "the entry node cannot be deleted", code="entry_node")
            remove_node(doc, node_id)

        await documents.edit(key(call), call.user_id, edit)
        return Response(status_code=204)

    async def create_connection(call: Call) -> Response:
        body: CreateConnection = call.body
        conn_id = body.id or str(uuid.uuid4())

        def edit(doc: Doc[Any]) -> dict[str, Any]:
            flow = read_flow(doc)
            if conn_id in flow.connections:
                raise HttpError(409, f"connection {conn_id!r} already exists", code="exists")
            _check_ends(flow, body)
            connect(
                doc, conn_id, body.source_node_id, body.source_pin, body.target_node_id,
                body.target_pin, label=body.label,
            )  # fmt: skip
            return connection_json(read_flow(doc).connections[conn_id])

        connection = await documents.edit(key(call), call.user_id, edit)
        return JSONResponse(connection, status_code=201)

    async def update_connection(call: Call) -> Response:
        body: UpdateConnection = call.body
        conn_id: str = call.path["connection_id"]

        def edit(doc: Doc[Any]) -> dict[str, Any]:
            if conn_id not in read_flow(doc).connections:
                raise HttpError(404, "no such connection")
            set_connection_label(doc, conn_id, body.label)
            return connection_json(read_flow(doc).connections[conn_id])

        return JSONResponse(await documents.edit(key(call), call.user_id, edit))

    async def delete_connection(call: Call) -> Response:
        conn_id: str = call.path["connection_id"]

        def edit(doc: Doc[Any]) -> None:
            if conn_id not in read_flow(doc).connections:
                raise HttpError(404, "no such connection")
            disconnect(doc, conn_id)

        await documents.edit(key(call), call.user_id, edit)
        return Response(status_code=204)

    flow = "/api/v1/projects/{project_id}/flows/{flow_id}"
    node = f"{flow}/nodes/{{node_id}}"
    conn = f"{flow}/connections/{{connection_id}}"
    for endpoint in (
        Endpoint(
            "GET", f"{flow}/document", get_flow_document, Auth.READ,
            "The flow's live document as JSON, with what its reader found odd", "flows",
            response=ref("FlowDocument"),
        ),
        Endpoint(
            "POST", f"{flow}/nodes", create_node, Auth.WRITE, "Add a node", "flows",
            status=201, response=ref("Node"), body=CreateNode, errors=(409,),
        ),
        Endpoint(
            "PATCH", node, update_node, Auth.WRITE, "Move a node or set fields of its data",
            "flows", response=ref("Node"), body=UpdateNode,
        ),
        Endpoint(
            "DELETE", node, delete_node, Auth.WRITE,
            "Delete a node and its connections", "flows", status=204, errors=(409,),
        ),
        Endpoint(
            "POST", f"{flow}/connections", create_connection, Auth.WRITE, "Connect two nodes",
            "flows", status=201, response=ref("Connection"), body=CreateConnection,
            errors=(409,),
        ),
        Endpoint(
            "PATCH", conn, update_connection, Auth.WRITE, "Set a connection's label", "flows",
            response=ref("Connection"), body=UpdateConnection,
        ),
        Endpoint(
            "DELETE", conn, delete_connection, Auth.WRITE, "Delete a connection", "flows",
            status=204,
        ),
    ):  # fmt: skip
        api.add(endpoint)
