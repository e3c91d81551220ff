"""Mentions inside rich text: which pages and flows a dialogue line or a rich-text block names.

A mention is an atom of the rich text: an `XmlElement("mention")` whose attributes carry `id`
and `type` (`page`, `sheet` or `flow`; TipTap's mention node, domain.md §1.8), or the HTML form
`data-id` / `data-type`. The typed readers flatten rich text to its label, so references are
read here, from the Doc itself. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Map, XmlElement, XmlFragment

from crdt.views._values import root_map, snapshot
from crdt.views.nodes import NodeType

MENTION = "mention"
Mention = tuple[str, str]  # (target type as written, target id)


def _attribute(element: XmlElement, *names: str) -> str | None:
    attributes = element.attributes
    for name in names:
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _walk(node: XmlFragment | XmlElement, out: list[Mention]) -> None:
    for child in node.children:
        if not isinstance(child, XmlElement):
            continue
        if child.tag == MENTION:
            target = _attribute(child, "id", "data-id")
            kind = _attribute(child, "type", "data-type") or "page"
            if target is not None:
                out.append((kind, target))
        else:
            _walk(child, out)


def fragment_mentions(fragment: Any) -> list[Mention]:
    """The mentions of a rich-text fragment, in document order (none for anything else)."""
    if not isinstance(fragment, XmlFragment) or f"<{MENTION}" not in str(fragment):
        return []  # the serialised check is one native call; walking costs one per child
    out: list[Mention] = []
    _walk(fragment, out)
    return out


def _candidates(root: Map[Any], type_name: str, part: str, field: str) -> list[str]:
    """Ids of the entries of `type_name` whose `part.field` may hold a mention.

    One native call serialises the whole root (rich text as its XML string); only the few
    fragments that contain a mention element are then walked through the Python wrappers.
    """
    entries = snapshot(root)
    found = []
    for entry_id, entry in entries.items():
        if not isinstance(entry, dict) or entry.get("type") != type_name:
            continue
        inner = entry.get(part)
        text = inner.get(field) if isinstance(inner, dict) else None
        if isinstance(text, str) and f"<{MENTION}" in text:
            found.append(entry_id)
    return sorted(found)


def _mentions_of(root: Map[Any], ids: list[str], part: str, field: str) -> dict[str, list[Mention]]:
    found: dict[str, list[Mention]] = {}
    for entry_id in ids:
        entry = root.get(entry_id)
        inner = entry.get(part) if isinstance(entry, Map) else None
        mentions = fragment_mentions(inner.get(field)) if isinstance(inner, Map) else []
        if mentions:
            found[entry_id] = mentions
    return found


def flow_mentions(doc: Doc[Any]) -> dict[str, list[Mention]]:
    """Mentions in each dialogue node's text, by node id (nodes without any left out)."""
    with doc.transaction():
        nodes = root_map(doc, "nodes")
        ids = _candidates(nodes, NodeType.DIALOGUE.value, "data", "text")
        return _mentions_of(nodes, ids, "data", "text")


def page_mentions(doc: Doc[Any]) -> dict[str, list[Mention]]:
    """Mentions in each rich-text block's content, by block id."""
    with doc.transaction():
        blocks = root_map(doc, "blocks")
        ids = _candidates(blocks, "rich_text", "value", "content")
        return _mentions_of(blocks, ids, "value", "content")
