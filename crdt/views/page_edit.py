"""Edits of a page (sheet) document: blocks, their order, values, table rows, gallery images.

Each function runs in one transaction with the caller's `origin` and raises `ViewError` for
what the editor refuses locally (unknown ids, a value of the wrong type). Values are JSON form:
rich text is HTML, Y.Text fields plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pycrdt import Array, Doc, Map

from crdt.views._values import Rich, ViewError, assign, child_map, root_array, root_map, to_y
from crdt.views.blocks import (
    COLUMN_TYPES,
    CONTENT_SHAPES,
    BlockType,
    block_shape,
    check_content,
    default_config,
    default_value,
    parse_block_type,
    slugify,
)

# The page meta's rich-text field; every other meta field is a scalar.
META_SHAPE = {"description": Rich.XML}


def _block(doc: Doc[Any], block_id: str) -> tuple[Map[Any], BlockType]:
    block = child_map(root_map(doc, "blocks"), block_id, "block")
    block_type = parse_block_type(block.get("type"))
    if block_type is None:
        raise ViewError(f"block {block_id!r} has no known type")
    return block, block_type


def _part(block: Map[Any], key: str) -> Map[Any]:
    part = block.get(key)
    if not isinstance(part, Map):
        part = block[key] = Map()  # a peer left it missing or flat: give it a map again
    return part


def add_block(
    doc: Doc[Any],
    block_id: str,
    block_type: BlockType | str,
    label: str,
    *,
    index: int | None = None,
    config: Mapping[str, Any] | None = None,
    value: Mapping[str, Any] | None = None,
    origin: int | None = None,
) -> None:
    """Add a block (last by default) with its type's defaults, overridden by `config`/`value`."""
    kind = parse_block_type(block_type)
    if kind is None:
        raise ViewError(f"{block_type!r} is not a block type")
    block = {
        "type": kind.value,
        "config": default_config(kind, label) | dict(config or {}),
        "value": default_value(kind) | dict(value or {}),
    }
    with doc.transaction(origin=origin):
        blocks, order = root_map(doc, "blocks"), root_array(doc, "blockOrder")
        if block_id in blocks:
            raise ViewError(f"block {block_id!r} already exists")
        blocks[block_id] = to_y(block, block_shape(kind))
        order.insert(len(order) if index is None else max(0, min(index, len(order))), block_id)


def _drop_from_order(order: Array[Any], block_id: str) -> None:
    # Concurrent moves of one block can leave it listed twice: remove every occurrence.
    for i in reversed(range(len(order))):
        if order[i] == block_id:
            del order[i]


def remove_block(doc: Doc[Any], block_id: str, *, origin: int | None = None) -> None:
    """Delete a block and its place in the order."""
    with doc.transaction(origin=origin):
        blocks = root_map(doc, "blocks")
        if block_id not in blocks:
            raise ViewError(f"block {block_id!r} does not exist")
        del blocks[block_id]
        _drop_from_order(root_array(doc, "blockOrder"), block_id)


def move_block(doc: Doc[Any], block_id: str, index: int, *, origin: int | None = None) -> None:
    """Put a block at `index` of the order (counted without the block itself)."""
    with doc.transaction(origin=origin):
        child_map(root_map(doc, "blocks"), block_id, "block")
        order = root_array(doc, "blockOrder")
        _drop_from_order(order, block_id)
        order.insert(max(0, min(index, len(order))), block_id)


def set_label(doc: Doc[Any], block_id: str, label: str, *, origin: int | None = None) -> None:
    """Rename a block (its Y.Text label is rewritten in place)."""
    with doc.transaction(origin=origin):
        block, _ = _block(doc, block_id)
        assign(_part(block, "config"), "label", label, Rich.TEXT)


def set_config(doc: Doc[Any], block_id: str, *, origin: int | None = None, **fields: Any) -> None:
    """Set config fields other than the label (options, placeholder, min, max, mode, ...)."""
    with doc.transaction(origin=origin):
        block, _ = _block(doc, block_id)
        config = _part(block, "config")
        for key, value in fields.items():
            if key == "label":
                raise ViewError("use set_label to rename a block")
            assign(config, key, value)


def set_value(doc: Doc[Any], block_id: str, content: Any, *, origin: int | None = None) -> None:
    """Set `value.content` of a text, rich_text, number, select, multi_select, date or boolean
    block; text is rewritten in place, a multi_select's array keeps its identity."""
    with doc.transaction(origin=origin):
        block, kind = _block(doc, block_id)
        problem = check_content(kind, content)
        if problem is not None:
            raise ViewError(problem)
        value = _part(block, "value")
        current = value.get("content")
        if kind is BlockType.MULTI_SELECT and isinstance(current, Array):
            current.clear()
            current.extend(list(content))
        else:
            assign(value, "content", content, CONTENT_SHAPES.get(kind))


def set_reference(
    doc: Doc[Any],
    block_id: str,
    target_type: str | None,
    target_id: str | None,
    *,
    origin: int | None = None,
) -> None:
    """Point a reference block at a sheet or flow (or clear it with None, None)."""
    with doc.transaction(origin=origin):
        block, kind = _block(doc, block_id)
        if kind is not BlockType.REFERENCE:
            raise ViewError(f"block {block_id!r} is not a reference")
        value = _part(block, "value")
        value["targetType"] = target_type
        value["targetId"] = target_id


def _list(doc: Doc[Any], block_id: str, kind: BlockType, name: str) -> Array[Any]:
    block, actual = _block(doc, block_id)
    if actual is not kind:
        raise ViewError(f"block {block_id!r} is not a {kind.value}")
    value = _part(block, "value")
    items = value.get(name)
    if not isinstance(items, Array):
        items = value[name] = Array()
    return items


def _insert(items: Array[Any], item: dict[str, Any], index: int | None) -> None:
    if any(isinstance(old, Map) and old.get("id") == item["id"] for old in items):
        raise ViewError(f"{item['id']!r} already exists")
    items.insert(len(items) if index is None else max(0, min(index, len(items))), to_y(item))


def add_table_column(
    doc: Doc[Any],
    block_id: str,
    column_id: str,
    name: str,
    column_type: str = "text",
    *,
    slug: str | None = None,
    config: Mapping[str, Any] | None = None,
    index: int | None = None,
    origin: int | None = None,
) -> None:
    """Add a column to a table block; its slug (default: from the name) keys the row cells."""
    if column_type not in COLUMN_TYPES:
        raise ViewError(f"{column_type!r} is not a column type")
    column = {
        "id": column_id,
        "name": name,
        "slug": slug or slugify(name),
        "type": column_type,
        "isConstant": False,
        "required": False,
        "config": dict(config or {}),
    }
    with doc.transaction(origin=origin):
        _insert(_list(doc, block_id, BlockType.TABLE, "columns"), column, index)


def add_table_row(
    doc: Doc[Any],
    block_id: str,
    row_id: str,
    name: str,
    *,
    slug: str | None = None,
    cells: Mapping[str, Any] | None = None,
    index: int | None = None,
    origin: int | None = None,
) -> None:
    """Add a row to a table block; `cells` maps column slug -> value."""
    row = {"id": row_id, "name": name, "slug": slug or slugify(name), "cells": dict(cells or {})}
    with doc.transaction(origin=origin):
        _insert(_list(doc, block_id, BlockType.TABLE, "rows"), row, index)


def set_table_cell(
    doc: Doc[Any],
    block_id: str,
    row_id: str,
    column_slug: str,
    value: Any,
    *,
    origin: int | None = None,
) -> None:
    """Set one cell; each cell is its own key, so edits of different cells merge."""
    with doc.transaction(origin=origin):
        for row in _list(doc, block_id, BlockType.TABLE, "rows"):
            if isinstance(row, Map) and row.get("id") == row_id:
                assign(_part(row, "cells"), column_slug, value)
                return
        raise ViewError(f"row {row_id!r} does not exist")


def add_gallery_image(
    doc: Doc[Any],
    block_id: str,
    image_id: str,
    asset_id: str,
    *,
    label: str = "",
    description: str = "",
    index: int | None = None,
    origin: int | None = None,
) -> None:
    """Add an image (an asset id) to a gallery block."""
    image = {"id": image_id, "assetId": asset_id, "label": label, "description": description}
    with doc.transaction(origin=origin):
        _insert(_list(doc, block_id, BlockType.GALLERY, "images"), image, index)


def remove_entry(
    doc: Doc[Any], block_id: str, name: str, entry_id: str, *, origin: int | None = None
) -> None:
    """Remove a table column or row, or a gallery image (`name`: columns, rows or images)."""
    kind = BlockType.GALLERY if name == "images" else BlockType.TABLE
    if name not in ("columns", "rows", "images"):
        raise ViewError(f"blocks have no list {name!r}")
    with doc.transaction(origin=origin):
        items = _list(doc, block_id, kind, name)
        for i, item in enumerate(items):
            if isinstance(item, Map) and item.get("id") == entry_id:
                del items[i]
                return
        raise ViewError(f"{entry_id!r} does not exist")


def set_page_meta(doc: Doc[Any], *, origin: int | None = None, **fields: Any) -> None:
    """Set page meta fields (name, shortcut, color, ...), JSON form; `description` is rich text."""
    with doc.transaction(origin=origin):
        meta = root_map(doc, "meta")
        for key, value in fields.items():
            assign(meta, key, value, META_SHAPE.get(key))
