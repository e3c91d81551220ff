"""Edits of a flow document: nodes, dialogue responses, connections, meta.

Each function runs in one transaction (one Yjs update) with the caller's `origin`, and refuses
what the editor would refuse locally (a second entry node, a pin the node does not have, a
duplicate or self connection) with `ViewError`. Remote peers are not bound by these checks:
`read_flow` reports what their merged edits produce instead.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Array, Doc, Map

from crdt.views._values import ViewError, assign, child_map, root_map, snapshot, to_json, to_y
from crdt.views.nodes import (
    DATA_SHAPES,
    INPUT,
    OUTPUT,
    RESPONSE_SHAPE,
    NodeType,
    accepts_output,
    default_data,
    input_pins,
    new_response,
    parse_type,
)

# Runtime keys that exports and localization rows point at: set once, never rewritten.
_STABLE_FIELDS = ("localizationId", "hubId")
_CONNECTION_KEYS = ("sourceNodeId", "sourcePin", "targetNodeId", "targetPin")


def _node(doc: Doc[Any], node_id: str) -> Map[Any]:
    return child_map(root_map(doc, "nodes"), node_id, "node")


def _data(node: Map[Any]) -> Map[Any]:
    data = node.get("data")
    if not isinstance(data, Map):
        data = node["data"] = Map()  # a peer left it missing or flat: give it a map again
    return data


def add_node(
    doc: Doc[Any],
    node_id: str,
    node_type: NodeType | str,
    x: float,
    y: float,
    *,
    origin: int | None = None,
    **fields: Any,
) -> None:
    """Add a node with its type's default `data`, overridden by `fields` (JSON form).

    Rich-text fields take HTML (`text="<p>Hello</p>"`), Y.Text fields plain strings, and
    lists/objects become Y.Arrays/Y.Maps.
    """
    kind = parse_type(node_type)
    if kind is None:
        raise ViewError(f"{node_type!r} is not a node type")
    data = default_data(kind, node_id)
    unknown = sorted(set(fields) - set(data))
    if unknown:
        raise ViewError(f"{kind.value} nodes have no field(s) {', '.join(unknown)}")
    data.update(fields)
    with doc.transaction(origin=origin):
        nodes = root_map(doc, "nodes")
        if node_id in nodes:
            raise ViewError(f"node {node_id!r} already exists")
        if kind is NodeType.ENTRY and any(
            isinstance(node, Map) and node.get("type") == NodeType.ENTRY.value
            for node in nodes.values()
        ):
            raise ViewError("a flow has exactly one entry node")
        node = {"type": kind.value, "x": float(x), "y": float(y), "data": data}
        nodes[node_id] = to_y(node, {"data": DATA_SHAPES.get(kind, {})})


def update_node_data(
    doc: Doc[Any], node_id: str, *, origin: int | None = None, **fields: Any
) -> None:
    """Set fields of a node's `data` (JSON form); Y.Text and rich text are rewritten in place."""
    with doc.transaction(origin=origin):
        node = _node(doc, node_id)
        node_type = parse_type(node.get("type"))
        shape = DATA_SHAPES.get(node_type, {}) if node_type is not None else {}
        data = _data(node)
        for key, value in fields.items():
            current = data.get(key)
            if key in _STABLE_FIELDS and current and current != value:
                raise ViewError(f"{key} is set once and never changed")
            assign(data, key, value, shape.get(key))


def move_node(
    doc: Doc[Any], node_id: str, x: float, y: float, *, origin: int | None = None
) -> None:
    """Place a node on the canvas."""
    with doc.transaction(origin=origin):
        node = _node(doc, node_id)
        node["x"] = float(x)
        node["y"] = float(y)


def _remove_connections(doc: Doc[Any], node_id: str, pins: set[str] | None = None) -> None:
    """Delete the connections touching `node_id` (only those leaving it from `pins`, if given)."""
    connections = root_map(doc, "connections")
    for conn_id, conn in snapshot(connections).items():
        if not isinstance(conn, dict):
            continue
        if pins is None:
            touches = node_id in (conn.get("sourceNodeId"), conn.get("targetNodeId"))
        else:
            touches = conn.get("sourceNodeId") == node_id and conn.get("sourcePin") in pins
        if touches:
            del connections[conn_id]


def remove_node(doc: Doc[Any], node_id: str, *, origin: int | None = None) -> None:
    """Delete a node and every connection to or from it. The entry node cannot be deleted."""
    with doc.transaction(origin=origin):
        node = _node(doc, node_id)
        if node.get("type") == NodeType.ENTRY.value:
            raise ViewError("the entry node cannot be deleted")
        del root_map(doc, "nodes")[node_id]
        _remove_connections(doc, node_id)


def _responses(doc: Doc[Any], node_id: str) -> Array[Any]:
    node = _node(doc, node_id)
    if node.get("type") != NodeType.DIALOGUE.value:
        raise ViewError(f"node {node_id!r} is not a dialogue")
    data = _data(node)
    responses = data.get("responses")
    if not isinstance(responses, Array):
        responses = data["responses"] = Array()
    return responses


def _response_ids(responses: Array[Any]) -> list[str | None]:
    return [item.get("id") if isinstance(item, Map) else None for item in responses]


def add_response(
    doc: Doc[Any],
    node_id: str,
    response_id: str,
    text: str = "",
    *,
    condition: dict[str, Any] | None = None,
    instruction: str = "",
    index: int | None = None,
    origin: int | None = None,
) -> None:
    """Add a response to a dialogue (last by default); its id becomes an output pin.

    The first response takes over the connections that left the dialogue's `output` pin, as
    the editor does, so adding a choice does not silently disconnect the dialogue.
    """
    with doc.transaction(origin=origin):
        responses = _responses(doc, node_id)
        ids = _response_ids(responses)
        if response_id in ids:
            raise ViewError(f"response {response_id!r} already exists")
        response = new_response(response_id, text, condition=condition, instruction=instruction)
        position = len(responses) if index is None else max(0, min(index, len(responses)))
        responses.insert(position, to_y(response, RESPONSE_SHAPE))
        if not any(ids):
            connections = root_map(doc, "connections")
            for conn_id, conn in snapshot(connections).items():
                if not isinstance(conn, dict) or conn.get("sourceNodeId") != node_id:
                    continue
                if conn.get("sourcePin") == OUTPUT:
                    connections[conn_id]["sourcePin"] = response_id


def remove_response(
    doc: Doc[Any], node_id: str, response_id: str, *, origin: int | None = None
) -> None:
    """Remove a dialogue response and the connections leaving its pin."""
    with doc.transaction(origin=origin):
        responses = _responses(doc, node_id)
        ids = _response_ids(responses)
        if response_id not in ids:
            raise ViewError(f"response {response_id!r} does not exist")
        del responses[ids.index(response_id)]
        pins = {response_id, f"response_{response_id}", f"resp_{response_id}"}
        _remove_connections(doc, node_id, pins)


def connect(
    doc: Doc[Any],
    conn_id: str,
    source_node_id: str,
    source_pin: str,
    target_node_id: str,
    target_pin: str = INPUT,
    *,
    label: str | None = None,
    origin: int | None = None,
) -> None:
    """Connect an output pin of one node to an input pin of another."""
    with doc.transaction(origin=origin):
        connections = root_map(doc, "connections")
        if conn_id in connections:
            raise ViewError(f"connection {conn_id!r} already exists")
        if source_node_id == target_node_id:
            raise ViewError("a node cannot connect to itself")
        source, target = _node(doc, source_node_id), _node(doc, target_node_id)
        source_type = parse_type(source.get("type"))
        data = to_json(source.get("data"))
        if not accepts_output(source_type, data if isinstance(data, dict) else {}, source_pin):
            raise ViewError(f"node {source_node_id!r} has no output pin {source_pin!r}")
        if target_pin not in input_pins(parse_type(target.get("type"))):
            raise ViewError(f"node {target_node_id!r} has no input pin {target_pin!r}")
        key = (source_node_id, source_pin, target_node_id, target_pin)
        for conn in snapshot(connections).values():
            if isinstance(conn, dict) and key == tuple(conn.get(k) for k in _CONNECTION_KEYS):
                raise ViewError("these pins are already connected")
        connections[conn_id] = to_y(
            {
                "sourceNodeId": source_node_id,
                "sourcePin": source_pin,
                "targetNodeId": target_node_id,
                "targetPin": target_pin,
                "label": label,
            }
        )


def disconnect(doc: Doc[Any], conn_id: str, *, origin: int | None = None) -> None:
    """Delete a connection."""
    with doc.transaction(origin=origin):
        connections = root_map(doc, "connections")
        if conn_id not in connections:
            raise ViewError(f"connection {conn_id!r} does not exist")
        del connections[conn_id]


def set_meta(doc: Doc[Any], *, origin: int | None = None, **fields: Any) -> None:
    """Set flow meta fields (name, shortcut, description, isMain, settings, ...), JSON form."""
    with doc.transaction(origin=origin):
        meta = root_map(doc, "meta")
        for key, value in fields.items():
            assign(meta, key, value)


def set_connection_label(
    doc: Doc[Any], conn_id: str, label: str | None, *, origin: int | None = None
) -> None:
    """Set or clear a connection's label (the only authored field besides its ends)."""
    with doc.transaction(origin=origin):
        child_map(root_map(doc, "connections"), conn_id, "connection")["label"] = label
