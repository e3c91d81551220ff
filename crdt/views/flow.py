"""The flow document: reading it as frozen data, and JSON export/import.

Roots: `meta` (Y.Map), `nodes` (Y.Map id -> Y.Map {type, x, y, data: Y.Map}) and `connections`
(Y.Map id -> Y.Map {sourceNodeId, sourcePin, targetNodeId, targetPin, label}). Node types,
default data and pins are in `nodes.py`; edits in `flow_edit.py` (re-exported here).

`read_flow` never raises on content: concurrent edits merge into states no single editor made
(a connection to a node another peer deleted, a pin whose response was removed), and a
misbehaving client can write anything the schema's roots allow. Such things are listed in
`FlowData.problems`, and the readable rest is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map

from crdt.views._values import Problem, Problems, by_key, root_map, to_json, to_y
from crdt.views.flow_edit import (
    add_node,
    add_response,
    connect,
    disconnect,
    move_node,
    remove_node,
    remove_response,
    set_meta,
    update_node_data,
)
from crdt.views.nodes import (
    DATA_SHAPES,
    INPUT,
    NodeType,
    accepts_output,
    input_pins,
    output_pins,
    parse_type,
)

__all__ = [
    "ConnectionData",
    "FlowData",
    "NodeData",
    "ResponseData",
    "add_node",
    "add_response",
    "connect",
    "disconnect",
    "flow_to_json",
    "json_to_flow",
    "move_node",
    "read_flow",
    "remove_node",
    "remove_response",
    "set_meta",
    "update_node_data",
]


@dataclass(frozen=True, slots=True)
class ResponseData:
    id: str
    text: str
    condition: Mapping[str, Any] | None
    instruction: str


@dataclass(frozen=True, slots=True)
class NodeData:
    id: str
    type: NodeType | None  # None: missing or unknown (reported)
    x: float
    y: float
    data: Mapping[str, Any]  # JSON form: rich text as HTML, Y.Text as str
    responses: tuple[ResponseData, ...]  # dialogue only, in display order
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConnectionData:
    id: str
    source_node_id: str
    source_pin: str
    target_node_id: str
    target_pin: str
    label: str | None


@dataclass(frozen=True)
class FlowData:
    meta: Mapping[str, Any]
    nodes: Mapping[str, NodeData]
    connections: Mapping[str, ConnectionData]
    problems: tuple[Problem, ...]

    def outgoing(self, node_id: str) -> list[ConnectionData]:
        """Connections leaving a node, by id."""
        found = (c for c in self.connections.values() if c.source_node_id == node_id)
        return sorted(found, key=lambda c: c.id)

    @property
    def entry(self) -> NodeData | None:
        """The entry node (the first by id if a merge left several, as reported)."""
        return next((n for n in self.nodes.values() if n.type is NodeType.ENTRY), None)


def _read_responses(data: Mapping[str, Any], path: str, problems: Problems) -> list[ResponseData]:
    raw = data.get("responses")
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(path, "responses is not a list")
        return []
    out: list[ResponseData] = []
    for i, item in enumerate(raw):
        where = f"{path}/responses/{i}"
        response_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(response_id, str) or not response_id:
            problems.add(where, "response has no id")
            continue
        if any(r.id == response_id for r in out):
            problems.add(where, f"response id {response_id!r} is used twice")
            continue
        condition, text, instruction = (
            item.get("condition"),
            item.get("text"),
            item.get("instruction"),
        )
        if condition is not None and not isinstance(condition, dict):
            problems.add(where, "condition is not a map")
            condition = None
        out.append(
            ResponseData(
                id=response_id,
                text=text if isinstance(text, str) else "",
                condition=condition,
                instruction=instruction if isinstance(instruction, str) else "",
            )
        )
    return out


def _read_node(node_id: str, value: Any, problems: Problems) -> NodeData | None:
    path = f"nodes/{node_id}"
    if not isinstance(value, Map):
        problems.add(path, "node is not a map")
        return None
    raw_type = value.get("type")
    node_type = parse_type(raw_type)
    if raw_type is None:
        problems.add(path, "node has no type")
    elif node_type is None:
        problems.add(path, f"unknown node type {raw_type!r}")
    raw_data = value.get("data")
    data = to_json(raw_data)
    if not isinstance(raw_data, Map):
        problems.add(path, "data is missing" if raw_data is None else "data is not a Y.Map")
    if not isinstance(data, dict):
        data = {}
    responses = _read_responses(data, path, problems) if node_type is NodeType.DIALOGUE else []
    return NodeData(
        id=node_id,
        type=node_type,
        x=problems.number(value, "x", path),
        y=problems.number(value, "y", path),
        data=data,
        responses=tuple(responses),
        inputs=input_pins(node_type),
        outputs=output_pins(node_type, data),
    )


def _read_connection(
    conn_id: str, value: Any, nodes: Mapping[str, NodeData], problems: Problems
) -> ConnectionData | None:
    path = f"connections/{conn_id}"
    if not isinstance(value, Map):
        problems.add(path, "connection is not a map")
        return None
    source, source_pin, target = (
        problems.string(value, key, path, required=True)
        for key in ("sourceNodeId", "sourcePin", "targetNodeId")
    )
    if source is None or source_pin is None or target is None:
        return None
    conn = ConnectionData(
        id=conn_id,
        source_node_id=source,
        source_pin=source_pin,
        target_node_id=target,
        target_pin=problems.string(value, "targetPin", path) or INPUT,
        label=problems.string(value, "label", path),
    )
    source_node, target_node = nodes.get(source), nodes.get(target)
    if source == target:
        problems.add(path, "connects a node to itself")
    if source_node is None:
        problems.add(path, f"source node {source!r} does not exist")
    elif not accepts_output(source_node.type, source_node.data, source_pin):
        problems.add(path, f"source node {source!r} has no output pin {source_pin!r}")
    if target_node is None:
        problems.add(path, f"target node {target!r} does not exist")
    elif conn.target_pin not in target_node.inputs:
        problems.add(path, f"target node {target!r} has no input pin {conn.target_pin!r}")
    return conn


def _check_flow(nodes: Mapping[str, NodeData], problems: Problems) -> None:
    entries = sorted(n.id for n in nodes.values() if n.type is NodeType.ENTRY)
    if nodes and len(entries) != 1:
        problems.add("nodes", f"a flow needs exactly one entry node, found {len(entries)}")
    hubs: dict[str, str] = {}
    for node in sorted(nodes.values(), key=lambda n: n.id):
        hub_id = node.data.get("hubId")
        if node.type is NodeType.HUB and isinstance(hub_id, str):
            if hub_id in hubs:
                problems.add(f"nodes/{node.id}", f"hubId {hub_id!r} also used by {hubs[hub_id]}")
            hubs.setdefault(hub_id, node.id)
    for node in nodes.values():
        target = node.data.get("targetHubId")
        if node.type is NodeType.JUMP and target is not None and target not in hubs:
            problems.add(f"nodes/{node.id}", f"jumps to missing hub {target!r}")


def read_flow(doc: Doc[Any]) -> FlowData:
    """Read a flow document tolerantly: odd content goes to `problems`, never raises."""
    problems = Problems()
    with doc.transaction():
        meta = to_json(root_map(doc, "meta"))
        nodes: dict[str, NodeData] = {}
        # By id: Y.Map iteration order is not part of the CRDT, peers may differ.
        for node_id, value in sorted(root_map(doc, "nodes").items(), key=by_key):
            node = _read_node(node_id, value, problems)
            if node is not None:
                nodes[node_id] = node
        _check_flow(nodes, problems)
        connections: dict[str, ConnectionData] = {}
        seen: dict[tuple[str, ...], str] = {}
        for conn_id, value in sorted(root_map(doc, "connections").items(), key=by_key):
            conn = _read_connection(conn_id, value, nodes, problems)
            if conn is None:
                continue
            connections[conn_id] = conn
            key = (conn.source_node_id, conn.source_pin, conn.target_node_id, conn.target_pin)
            if key in seen:
                problems.add(f"connections/{conn_id}", f"duplicates connection {seen[key]}")
            seen.setdefault(key, conn_id)
    return FlowData(meta, nodes, connections, tuple(problems.found))


def flow_to_json(doc: Doc[Any]) -> dict[str, Any]:
    """`{"meta": {...}, "nodes": {id: node}, "connections": {id: connection}}` as plain JSON."""
    with doc.transaction():
        return {name: to_json(root_map(doc, name)) for name in ("meta", "nodes", "connections")}


def json_to_flow(data: Mapping[str, Any]) -> Doc[Any]:
    """A new flow Doc holding `data` (the form `flow_to_json` returns)."""
    doc: Doc[Any] = Doc()
    with doc.transaction():
        meta = root_map(doc, "meta")
        for key, value in (data.get("meta") or {}).items():
            meta[key] = to_y(value)
        nodes = root_map(doc, "nodes")
        for node_id, node in (data.get("nodes") or {}).items():
            node_type = parse_type(node.get("type")) if isinstance(node, Mapping) else None
            shape = DATA_SHAPES.get(node_type, {}) if node_type is not None else {}
            nodes[node_id] = to_y(node, {"data": shape})
        connections = root_map(doc, "connections")
        for conn_id, conn in (data.get("connections") or {}).items():
            connections[conn_id] = to_y(conn)
    return doc
