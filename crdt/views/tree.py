"""The project tree document: the sidebar's pages and flows, with parents and sibling order.

Roots `pages` and `flows` are Y.Maps of id -> Y.Map {name, shortcut, parentId, position,
deletedAt}; `kind` arguments name the root with `DocKind.PAGE` or `DocKind.FLOW` (their values
are the root names). Order among siblings is `position` (a fractional index, `positions.py`),
ties broken by id. Concurrent moves can merge into a parent cycle that neither peer made; the
reader reports it and shows the cycle's smallest id as a root, so every peer draws the same tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map

from crdt.schema import DocKind
from crdt.views._values import (
    Problem,
    Problems,
    ViewError,
    by_key,
    child_map,
    root_map,
    to_json,
    to_y,
)
from crdt.views.positions import is_position, position_between

TREE_KINDS = (DocKind.PAGE, DocKind.FLOW)


@dataclass(frozen=True, slots=True)
class TreeItem:
    id: str
    kind: DocKind
    name: str
    shortcut: str | None
    parent_id: str | None  # as written; see `TreeData.parent_of` for the one to draw
    position: str  # "" when missing or malformed (sorts first; reported)
    deleted_at: str | None


@dataclass(frozen=True)
class TreeData:
    """A consistent reading of the tree: items per kind, drawable parents, problems."""

    items: Mapping[DocKind, Mapping[str, TreeItem]]
    parents: Mapping[DocKind, Mapping[str, str | None]]  # effective: cycles and orphans cut
    cycles: frozenset[str]  # ids whose written parent chain loops
    problems: tuple[Problem, ...]

    def parent_of(self, kind: DocKind, item_id: str) -> str | None:
        """The parent to draw `item_id` under (None: a root), after cutting cycles and orphans."""
        return self.parents[kind].get(item_id)

    def children(
        self, kind: DocKind, parent_id: str | None, *, include_deleted: bool = False
    ) -> list[TreeItem]:
        """Children drawn under `parent_id` (None: roots), by position then id."""
        found = [
            item
            for item in self.items[kind].values()
            if self.parents[kind][item.id] == parent_id
            and (include_deleted or item.deleted_at is None)
        ]
        return sorted(found, key=lambda item: (item.position, item.id))


def _section(doc: Doc[Any], kind: DocKind) -> Map[Any]:
    if kind not in TREE_KINDS:
        raise ViewError(f"the tree holds pages and flows, not {kind.value}")
    return root_map(doc, kind.value)


def _read_item(kind: DocKind, item_id: str, value: Any, problems: Problems) -> TreeItem | None:
    path = f"{kind.value}/{item_id}"
    if not isinstance(value, Map):
        problems.add(path, "item is not a map")
        return None
    position = value.get("position")
    if not is_position(position):
        problems.add(path, "position is missing or malformed")
    return TreeItem(
        id=item_id,
        kind=kind,
        name=problems.string(value, "name", path, required=True) or "",
        shortcut=problems.string(value, "shortcut", path),
        parent_id=problems.string(value, "parentId", path),
        position=position if isinstance(position, str) and is_position(position) else "",
        deleted_at=problems.string(value, "deletedAt", path),
    )


def _parents(
    kind: DocKind, items: Mapping[str, TreeItem], problems: Problems
) -> tuple[dict[str, str | None], set[str]]:
    parents: dict[str, str | None] = {}
    for item in items.values():
        parent = item.parent_id
        if parent is not None and parent not in items:
            problems.add(f"{kind.value}/{item.id}", f"parent {parent!r} does not exist")
            parent = None
        parents[item.id] = parent
    cycles: set[str] = set()
    walked: set[str] = set()  # ids whose chain is already resolved: each id is walked once
    for start in sorted(items):
        chain: dict[str, None] = {}  # an ordered set of this walk's ids
        node: str | None = start
        while node is not None and node not in walked and node not in chain:
            chain[node] = None
            node = parents[node]
        walked.update(chain)
        if node is not None and node in chain:  # a new loop: from `node` back to itself
            path = list(chain)
            loop = path[path.index(node) :]
            first = loop.index(min(loop))
            loop = loop[first:] + loop[:first]  # start at the smallest id: the same on every peer
            cycles.update(loop)
            problems.add(f"{kind.value}/{loop[0]}", f"parent cycle: {' -> '.join(loop)}")
            parents[loop[0]] = None  # a deterministic cut, so every peer draws the same tree
    return parents, cycles


def read_tree(doc: Doc[Any]) -> TreeData:
    """Read both sections tolerantly; odd items and cycles are reported in `problems`."""
    problems = Problems()
    items: dict[DocKind, dict[str, TreeItem]] = {}
    parents: dict[DocKind, dict[str, str | None]] = {}
    cycles: set[str] = set()
    with doc.transaction():
        for kind in TREE_KINDS:
            section: dict[str, TreeItem] = {}
            for item_id, value in sorted(_section(doc, kind).items(), key=by_key):
                item = _read_item(kind, item_id, value, problems)
                if item is not None:
                    section[item_id] = item
            items[kind] = section
            parents[kind], found = _parents(kind, section, problems)
            cycles |= found
            shortcuts: dict[str, str] = {}
            for item in sorted(section.values(), key=lambda item: item.id):
                if item.shortcut and item.deleted_at is None:
                    if item.shortcut in shortcuts:
                        problems.add(
                            f"{kind.value}/{item.id}",
                            f"shortcut {item.shortcut!r} also used by {shortcuts[item.shortcut]}",
                        )
                    shortcuts.setdefault(item.shortcut, item.id)
    return TreeData(items, parents, frozenset(cycles), tuple(problems.found))


def children(
    doc: Doc[Any], kind: DocKind, parent_id: str | None = None, *, include_deleted: bool = False
) -> list[TreeItem]:
    """Items drawn under `parent_id` (None: the roots), ordered by position then id."""
    return read_tree(doc).children(kind, parent_id, include_deleted=include_deleted)


def position_at(
    doc: Doc[Any], kind: DocKind, parent_id: str | None, index: int, *, moving: str | None = None
) -> str:
    """The position that puts an item at `index` among `parent_id`'s children.

    `moving` is the item being moved, left out of the count so moving down works as expected.
    """
    siblings = [
        item.position
        for item in children(doc, kind, parent_id, include_deleted=True)
        if item.id != moving and item.position
    ]
    index = max(0, min(index, len(siblings)))
    before = siblings[index - 1] if index > 0 else None
    after = siblings[index] if index < len(siblings) else None
    if before is not None and before == after:  # a concurrent tie: go after both
        after = next((p for p in siblings[index:] if p > before), None)
    return position_between(before, after)


def _check_parent(doc: Doc[Any], kind: DocKind, item_id: str, parent_id: str | None) -> None:
    if parent_id is None:
        return
    section = _section(doc, kind)
    child_map(section, parent_id, "parent")
    tree = read_tree(doc)
    node: str | None = parent_id
    for _ in range(len(section) + 1):
        if node is None:
            return
        if node == item_id:
            raise ViewError(f"{parent_id!r} is {item_id!r} or inside it: that would be a cycle")
        node = tree.parent_of(kind, node)


def create_item(
    doc: Doc[Any],
    kind: DocKind,
    item_id: str,
    name: str,
    *,
    parent_id: str | None = None,
    shortcut: str | None = None,
    position: str | None = None,
    origin: int | None = None,
) -> str:
    """Add a page or flow to the tree (last among its siblings by default); returns its position."""
    with doc.transaction(origin=origin):
        section = _section(doc, kind)
        if item_id in section:
            raise ViewError(f"{kind.value} {item_id!r} already exists")
        _check_parent(doc, kind, item_id, parent_id)
        if position is None:
            position = position_at(doc, kind, parent_id, len(section))
        item = {
            "name": name,
            "shortcut": shortcut,
            "parentId": parent_id,
            "position": position,
            "deletedAt": None,
        }
        section[item_id] = to_y(item)
    return position


def _set(doc: Doc[Any], kind: DocKind, item_id: str, origin: int | None, **values: Any) -> None:
    with doc.transaction(origin=origin):
        item = child_map(_section(doc, kind), item_id, kind.value)
        for key, value in values.items():
            item[key] = value


def rename_item(
    doc: Doc[Any], kind: DocKind, item_id: str, name: str, *, origin: int | None = None
) -> None:
    """Set an item's name."""
    _set(doc, kind, item_id, origin, name=name)


def set_shortcut(
    doc: Doc[Any], kind: DocKind, item_id: str, shortcut: str | None, *, origin: int | None = None
) -> None:
    """Set or clear an item's shortcut (uniqueness is checked by readers, see `read_tree`)."""
    _set(doc, kind, item_id, origin, shortcut=shortcut)


def move_item(
    doc: Doc[Any],
    kind: DocKind,
    item_id: str,
    parent_id: str | None,
    *,
    position: str | None = None,
    origin: int | None = None,
) -> str:
    """Move an item under `parent_id` at `position` (default: last); refuses local cycles."""
    with doc.transaction(origin=origin):
        child_map(_section(doc, kind), item_id, kind.value)
        _check_parent(doc, kind, item_id, parent_id)
        if position is None:
            position = position_at(doc, kind, parent_id, len(_section(doc, kind)), moving=item_id)
        _set(doc, kind, item_id, origin, parentId=parent_id, position=position)
    return position


def delete_item(
    doc: Doc[Any], kind: DocKind, item_id: str, *, deleted_at: str, origin: int | None = None
) -> None:
    """Soft-delete (trash) an item; `deleted_at` is an ISO-8601 timestamp chosen by the caller."""
    _set(doc, kind, item_id, origin, deletedAt=deleted_at)


def restore_item(doc: Doc[Any], kind: DocKind, item_id: str, *, origin: int | None = None) -> None:
    """Take an item out of the trash."""
    _set(doc, kind, item_id, origin, deletedAt=None)


def tree_to_json(doc: Doc[Any]) -> dict[str, Any]:
    """`{"pages": {id: item}, "flows": {id: item}}` as plain JSON."""
    with doc.transaction():
        return {kind.value: to_json(_section(doc, kind)) for kind in TREE_KINDS}


def json_to_tree(data: Mapping[str, Any]) -> Doc[Any]:
    """A new tree Doc holding `data` (the form `tree_to_json` returns)."""
    doc: Doc[Any] = Doc()
    with doc.transaction():
        for kind in TREE_KINDS:
            section = _section(doc, kind)
            for item_id, item in (data.get(kind.value) or {}).items():
                section[item_id] = to_y(item)
    return doc
