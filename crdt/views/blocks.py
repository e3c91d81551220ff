"""Page block types: their default `config` and `value`, and where their collaborative strings sit.

Shapes follow domain.md §1.3 and §6.2, camelCase: every block is {type, config: Y.Map,
value: Y.Map}; `config.label` is a Y.Text; a text block's `value.content` is a Y.Text and a
rich_text block's an XmlFragment; a multi_select's content is a Y.Array of option keys. Tables
keep `columns` and `rows` (Y.Arrays of Y.Maps) and galleries `images` in `value`, so each block
stays one Y.Map and two people can edit different rows or images at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from crdt.views._values import Rich, Shape, is_number


class BlockType(StrEnum):
    TEXT = "text"
    RICH_TEXT = "rich_text"
    NUMBER = "number"
    SELECT = "select"
    MULTI_SELECT = "multi_select"
    DATE = "date"
    BOOLEAN = "boolean"
    REFERENCE = "reference"
    TABLE = "table"
    GALLERY = "gallery"


# Types a table column may have (no rich text in cells; formula cells hold {expression}).
COLUMN_TYPES = frozenset(
    {"number", "text", "boolean", "select", "multi_select", "date", "reference", "formula"}
)

# Which blocks' `value.content` is a collaborative string rather than a scalar or a list.
CONTENT_SHAPES: Mapping[BlockType, Rich] = {
    BlockType.TEXT: Rich.TEXT,
    BlockType.RICH_TEXT: Rich.XML,
}


def block_shape(block_type: BlockType | None) -> Mapping[str, Shape]:
    """Where a block's Y.Text / XmlFragment fields are, for JSON import."""
    shape: dict[str, Shape] = {"config": {"label": Rich.TEXT}}
    if block_type is not None and block_type in CONTENT_SHAPES:
        shape["value"] = {"content": CONTENT_SHAPES[block_type]}
    return shape


def default_config(block_type: BlockType, label: str) -> dict[str, Any]:
    """A new block's `config` in JSON form."""
    config: dict[str, Any] = {"label": label}
    match block_type:
        case BlockType.TEXT:
            config["placeholder"] = ""
        case BlockType.NUMBER:
            config.update(placeholder="", min=None, max=None, step=None)
        case BlockType.SELECT | BlockType.MULTI_SELECT:
            config.update(placeholder="", options=[])
        case BlockType.BOOLEAN:
            config["mode"] = "two_state"  # or "tri_state", which allows null
        case BlockType.REFERENCE:
            config["allowedTypes"] = ["sheet", "flow"]
        case BlockType.TABLE:
            config["collapsed"] = False
        case _:
            pass
    return config


def default_value(block_type: BlockType) -> dict[str, Any]:
    """A new block's `value` in JSON form."""
    match block_type:
        case BlockType.TEXT | BlockType.RICH_TEXT:
            return {"content": ""}
        case BlockType.MULTI_SELECT:
            return {"content": []}
        case BlockType.REFERENCE:
            return {"targetType": None, "targetId": None}
        case BlockType.TABLE:
            return {"columns": [], "rows": []}
        case BlockType.GALLERY:
            return {"images": []}
        case _:
            return {"content": None}


def check_content(block_type: BlockType, content: Any) -> str | None:
    """Why `content` (JSON form) does not fit a block type's `value.content`, or None if it does."""
    match block_type:
        case BlockType.TEXT | BlockType.RICH_TEXT:
            ok = isinstance(content, str)
        case BlockType.NUMBER:
            ok = content is None or is_number(content)
        case BlockType.SELECT | BlockType.DATE:
            ok = content is None or isinstance(content, str)
        case BlockType.MULTI_SELECT:
            ok = isinstance(content, list) and all(isinstance(key, str) for key in content)
        case BlockType.BOOLEAN:
            ok = content is None or isinstance(content, bool)
        case _:
            return f"{block_type.value} blocks have no content"
    return None if ok else f"{content!r} is not a {block_type.value} value"


def slugify(name: str) -> str:
    """A variable-style slug: lowercase, `_` between words, `.` kept (name_normalizer rules)."""
    slug = re.sub(r"[^a-z0-9.]+", "_", name.lower()).strip("_.")
    return slug or "column"


_BY_VALUE = {block_type.value: block_type for block_type in BlockType}


def parse_block_type(value: Any) -> BlockType | None:
    """The BlockType named by `value`, or None if it names none."""
    return _BY_VALUE.get(value) if isinstance(value, str) else None
