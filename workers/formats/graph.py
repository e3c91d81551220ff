"""Walking a flow's graph the way Storyarn's player does: from the entry, pin by pin."""

from __future__ import annotations

from collections.abc import Callable

from crdt.views import FlowData, NodeData, NodeType

Warn = Callable[[str], None]


def _pin_matches(node: NodeData, wanted: str, pin: str) -> bool:
    if pin == wanted:
        return True
    # Dialogue responses also answer to their legacy pin names (domain.md §1.5).
    return node.type is NodeType.DIALOGUE and pin in (f"response_{wanted}", f"resp_{wanted}")


def next_node(flow: FlowData, node: NodeData, pin: str, warn: Warn | None = None) -> str | None:
    """The node a pin leads to, or None when nothing (or only a missing node) is connected.

    A pin may carry several connections; the player follows one, so the first by connection
    id wins and the others are reported.
    """
    found = [
        c
        for c in flow.outgoing(node.id)
        if _pin_matches(node, pin, c.source_pin) and c.target_node_id in flow.nodes
    ]
    if warn is not None:
        for conn in flow.outgoing(node.id):
            if _pin_matches(node, pin, conn.source_pin) and conn.target_node_id not in flow.nodes:
                warn(f"connection {conn.id} leads to the missing node {conn.target_node_id}")
        for extra in found[1:]:
            warn(f"node {node.id} pin {pin!r}: connection {extra.id} ignored, one is followed")
    return found[0].target_node_id if found else None


def hub_node(flow: FlowData, hub_id: object) -> NodeData | None:
    """The hub a jump names (the first by node id if a merge left two)."""
    hubs = (n for n in sorted(flow.nodes.values(), key=lambda n: n.id) if n.type is NodeType.HUB)
    return next((n for n in hubs if n.data.get("hubId") == hub_id), None)


def successors(flow: FlowData, node: NodeData) -> list[str]:
    """Every node this one can lead to: its connections, and a jump's hub."""
    found = [c.target_node_id for c in flow.outgoing(node.id) if c.target_node_id in flow.nodes]
    if node.type is NodeType.JUMP:
        hub = hub_node(flow, node.data.get("targetHubId"))
        if hub is not None:
            found.append(hub.id)
    return found


def reachable(flow: FlowData) -> list[str]:
    """Node ids reachable from the entry, in breadth-first order (the entry first)."""
    entry = flow.entry
    if entry is None:
        return []
    order, seen = [entry.id], {entry.id}
    for node_id in order:
        for target in successors(flow, flow.nodes[node_id]):
            if target not in seen:
                seen.add(target)
                order.append(target)
    return order
