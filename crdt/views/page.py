"""The page (sheet) document: reading it as frozen data, and JSON export/import.

Roots: `meta` (Y.Map: name, shortcut, color, parentId, position, description as rich text),
`blocks` (Y.Map id -> Y.Map {type, config, value}) and `blockOrder` (Y.Array of block ids).
Block types and defaults are in `blocks.py`; edits in `page_edit.py` (re-exported here).

Moving a block is delete-then-insert in `blockOrder`, so two peers moving the same block at
once leave it listed twice; a block deleted by one peer may stay listed by another's insert.
`read_page` shows each existing block once (first listing wins, unlisted blocks go last, by
id) and reports the oddities in `problems`, so every peer draws the same page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map

from crdt.views._values import (
    Problem,
    Problems,
    by_key,
    root_array,
    root_map,
    to_json,
    to_y,
)
from crdt.views.blocks import BlockType, block_shape, check_content, parse_block_type
from crdt.views.page_edit import (
    META_SHAPE,
    add_block,
    add_gallery_image,
    add_table_column,
    add_table_row,
    move_block,
    remove_block,
    remove_entry,
    set_config,
    set_label,
    set_page_meta,
    set_reference,
    set_table_cell,
    set_value,
)

__all__ = [
    "BlockData",
    "PageData",
    "add_block",
    "add_gallery_image",
    "add_table_column",
    "add_table_row",
    "json_to_page",
    "move_block",
    "page_to_json",
    "read_page",
    "remove_block",
    "remove_entry",
    "set_config",
    "set_label",
    "set_page_meta",
    "set_reference",
    "set_table_cell",
    "set_value",
]

_CONTENT_TYPES = frozenset(BlockType) - {BlockType.REFERENCE, BlockType.TABLE, BlockType.GALLERY}
_LISTS = {BlockType.TABLE: ("columns", "rows"), BlockType.GALLERY: ("images",)}


@dataclass(frozen=True, slots=True)
class BlockData:
    id: str
    type: BlockType | None  # None: missing or unknown (reported)
    label: str
    config: Mapping[str, Any]  # JSON form
    value: Mapping[str, Any]  # JSON form: rich text as HTML, Y.Text as str

    @property
    def content(self) -> Any:
        """`value.content`: the block's value for the types that have one."""
        return self.value.get("content")


@dataclass(frozen=True)
class PageData:
    meta: Mapping[str, Any]
    blocks: tuple[BlockData, ...]  # in display order
    problems: tuple[Problem, ...]

    def block(self, block_id: str) -> BlockData | None:
        """The block with this id, or None."""
        return next((b for b in self.blocks if b.id == block_id), None)


def _part(block: Map[Any], key: str, path: str, problems: Problems) -> dict[str, Any]:
    raw = block.get(key)
    if not isinstance(raw, Map):
        problems.add(path, f"{key} is missing" if raw is None else f"{key} is not a Y.Map")
    part = to_json(raw)
    return part if isinstance(part, dict) else {}


def _check_value(kind: BlockType, value: Mapping[str, Any], path: str, problems: Problems) -> None:
    if kind in _CONTENT_TYPES:
        problem = check_content(kind, value.get("content"))
        if problem is not None:
            problems.add(path, problem)
    elif kind is BlockType.REFERENCE:
        for key in ("targetType", "targetId"):
            if not isinstance(value.get(key), str | None):
                problems.add(path, f"{key} is not a string")
    for name in _LISTS.get(kind, ()):
        items = value.get(name)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            problems.add(path, f"{name} is not a list of maps")


def _read_block(block_id: str, raw: Any, problems: Problems) -> BlockData | None:
    path = f"blocks/{block_id}"
    if not isinstance(raw, Map):
        problems.add(path, "block is not a map")
        return None
    raw_type = raw.get("type")
    kind = parse_block_type(raw_type)
    if raw_type is None:
        problems.add(path, "block has no type")
    elif kind is None:
        problems.add(path, f"unknown block type {raw_type!r}")
    config = _part(raw, "config", path, problems)
    value = _part(raw, "value", path, problems)
    label = config.get("label")
    if not isinstance(label, str) or not label:
        problems.add(path, "label is missing")
    if kind is not None:
        _check_value(kind, value, path, problems)
    return BlockData(
        id=block_id,
        type=kind,
        label=label if isinstance(label, str) else "",
        config=config,
        value=value,
    )


def read_page(doc: Doc[Any]) -> PageData:
    """Read a page document tolerantly: odd content goes to `problems`, never raises."""
    problems = Problems()
    with doc.transaction():
        meta = to_json(root_map(doc, "meta"))
        blocks: dict[str, BlockData] = {}
        for block_id, raw in sorted(root_map(doc, "blocks").items(), key=by_key):
            block = _read_block(block_id, raw, problems)
            if block is not None:
                blocks[block_id] = block
        ordered: list[BlockData] = []
        listed: set[str] = set()
        for i, block_id in enumerate(root_array(doc, "blockOrder")):
            path = f"blockOrder/{i}"
            if not isinstance(block_id, str):
                problems.add(path, "entry is not a block id")
            elif block_id in listed:
                problems.add(path, f"block {block_id!r} is listed twice")
            elif block_id not in blocks:
                problems.add(path, f"block {block_id!r} does not exist")
            else:
                listed.add(block_id)
                ordered.append(blocks[block_id])
    for block_id in sorted(set(blocks) - listed):
        problems.add(f"blocks/{block_id}", "block is missing from blockOrder")
        ordered.append(blocks[block_id])
    return PageData(meta, tuple(ordered), tuple(problems.found))


def page_to_json(doc: Doc[Any]) -> dict[str, Any]:
    """`{"meta": {...}, "blocks": {id: block}, "blockOrder": [ids]}` as plain JSON."""
    with doc.transaction():
        return {
            "meta": to_json(root_map(doc, "meta")),
            "blocks": to_json(root_map(doc, "blocks")),
            "blockOrder": to_json(root_array(doc, "blockOrder")),
        }


def json_to_page(data: Mapping[str, Any]) -> Doc[Any]:
    """A new page Doc holding `data` (the form `page_to_json` returns)."""
    doc: Doc[Any] = Doc()
    with doc.transaction():
        meta = root_map(doc, "meta")
        for key, value in (data.get("meta") or {}).items():
            meta[key] = to_y(value, META_SHAPE.get(key))
        blocks = root_map(doc, "blocks")
        for block_id, block in (data.get("blocks") or {}).items():
            kind = parse_block_type(block.get("type")) if isinstance(block, Mapping) else None
            blocks[block_id] = to_y(block, block_shape(kind))
        root_array(doc, "blockOrder").extend([to_y(i) for i in data.get("blockOrder") or []])
    return doc
