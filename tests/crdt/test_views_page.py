from __future__ import annotations

import json
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, XmlFragment

from crdt.views import ViewError
from crdt.views.blocks import BlockType, default_config, default_value, slugify
from crdt.views.page import (
    add_block,
    add_gallery_image,
    add_table_column,
    add_table_row,
    json_to_page,
    move_block,
    page_to_json,
    read_page,
    remove_block,
    remove_entry,
    set_config,
    set_label,
    set_page_meta,
    set_reference,
    set_table_cell,
    set_value,
)


def _remote(doc: Doc[Any]) -> Doc[Any]:
    other: Doc[Any] = Doc()
    other.apply_update(doc.get_update())
    return other


def _exchange(a: Doc[Any], b: Doc[Any]) -> None:
    ua, ub = a.get_update(b.get_state()), b.get_update(a.get_state())
    a.apply_update(ub)
    b.apply_update(ua)


def _block_map(doc: Doc[Any], block_id: str) -> Map[Any]:
    block: Map[Any] = doc.get("blocks", type=Map)[block_id]
    return block


def _order(doc: Doc[Any]) -> list[str]:
    return [block.id for block in read_page(doc).blocks]


def _sheet() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    set_page_meta(doc, name="Jaime", shortcut="mc.jaime", color="#aabbcc", parentId=None)
    add_block(doc, "name", BlockType.TEXT, "Full name")
    add_block(doc, "bio", BlockType.RICH_TEXT, "Biography")
    add_block(doc, "hp", BlockType.NUMBER, "Health", config={"min": 0, "max": 100})
    add_block(
        doc,
        "class",
        BlockType.SELECT,
        "Class",
        config={"options": [{"key": "rogue", "value": "Rogue"}, {"key": "bard", "value": "Bard"}]},
    )
    return doc


VALUES: list[tuple[BlockType, Any]] = [
    (BlockType.TEXT, "Jaime Lannister"),
    (BlockType.RICH_TEXT, "<p>Knight<br>of the guard</p>"),
    (BlockType.NUMBER, 42.5),
    (BlockType.SELECT, "rogue"),
    (BlockType.MULTI_SELECT, ["brave", "proud"]),
    (BlockType.DATE, "2026-03-01"),
    (BlockType.BOOLEAN, True),
]


@pytest.mark.parametrize("block_type", list(BlockType))
def test_page_each_block_type_created_and_read_back(block_type: BlockType) -> None:
    doc: Doc[Any] = Doc()
    add_block(doc, "b", block_type, "Label")
    page = read_page(doc)
    assert page.problems == ()
    block = page.blocks[0]
    assert (block.id, block.type, block.label) == ("b", block_type, "Label")
    assert block.config == default_config(block_type, "Label")
    assert block.value == default_value(block_type)
    assert isinstance(_block_map(doc, "b")["config"]["label"], Text)


@pytest.mark.parametrize(("block_type", "content"), VALUES)
def test_page_set_value_per_type(block_type: BlockType, content: Any) -> None:
    doc: Doc[Any] = Doc()
    add_block(doc, "b", block_type, "Label")
    set_value(doc, "b", content)
    assert read_page(doc).blocks[0].content == content
    assert read_page(_remote(doc)).blocks[0].content == content


def test_page_values_use_collaborative_types_in_place() -> None:
    doc: Doc[Any] = Doc()
    for block_type, content in VALUES[:2] + VALUES[4:5]:
        add_block(doc, block_type.value, block_type, "L")
        value = _block_map(doc, block_type.value)["value"]
        replaced: list[Any] = []
        subscription = value.observe(replaced.append)  # fires only if `content` is replaced
        set_value(doc, block_type.value, content)
        value.unobserve(subscription)
        assert replaced == []  # the same shared object, rewritten: editors stay bound
        block = read_page(doc).block(block_type.value)
        assert block is not None
        assert block.content == content
    assert isinstance(_block_map(doc, "text")["value"]["content"], Text)
    assert isinstance(_block_map(doc, "rich_text")["value"]["content"], XmlFragment)
    assert isinstance(_block_map(doc, "multi_select")["value"]["content"], Array)


def test_page_set_value_refusals() -> None:
    doc = _sheet()
    add_block(doc, "ref", BlockType.REFERENCE, "Home")
    with pytest.raises(ViewError, match="not a number"):
        set_value(doc, "hp", "lots")
    with pytest.raises(ViewError, match="not a number"):
        set_value(doc, "hp", True)
    with pytest.raises(ViewError, match="no content"):
        set_value(doc, "ref", "s1")
    with pytest.raises(ViewError, match="does not exist"):
        set_value(doc, "ghost", 1)
    with pytest.raises(ViewError, match="already exists"):
        add_block(doc, "hp", BlockType.NUMBER, "Again")
    with pytest.raises(ViewError, match="'divider' is not a block type"):
        add_block(doc, "d", "divider", "Line")
    with pytest.raises(ViewError, match="set_label"):
        set_config(doc, "hp", label="x")


def test_page_labels_config_and_references() -> None:
    doc = _sheet()
    add_block(doc, "home", BlockType.REFERENCE, "Home")
    set_label(doc, "hp", "Hit points")
    set_config(doc, "hp", step=5, placeholder="0-100")
    set_reference(doc, "home", "sheet", "s-castle")
    page = read_page(doc)
    hp, home = page.block("hp"), page.block("home")
    assert hp is not None
    assert home is not None
    assert (hp.label, hp.config["step"], hp.config["min"]) == ("Hit points", 5, 0)
    assert home.value == {"targetType": "sheet", "targetId": "s-castle"}
    with pytest.raises(ViewError, match="not a reference"):
        set_reference(doc, "hp", "flow", "f")


def test_page_reorder_and_remove() -> None:
    doc = _sheet()
    assert _order(doc) == ["name", "bio", "hp", "class"]
    move_block(doc, "class", 0)
    assert _order(doc) == ["class", "name", "bio", "hp"]
    move_block(doc, "class", 99)
    assert _order(doc) == ["name", "bio", "hp", "class"]
    add_block(doc, "first", BlockType.BOOLEAN, "Alive", index=0)
    remove_block(doc, "bio")
    assert _order(doc) == ["first", "name", "hp", "class"]
    assert read_page(doc).problems == ()
    with pytest.raises(ViewError, match="does not exist"):
        remove_block(doc, "bio")


def test_page_table_and_gallery() -> None:
    doc: Doc[Any] = Doc()
    add_block(doc, "stats", BlockType.TABLE, "Stats")
    add_table_column(doc, "stats", "c1", "Hit Points", "number")
    add_table_column(doc, "stats", "c2", "Title", slug="title")
    add_table_row(doc, "stats", "r1", "Level 1", cells={"hit_points": 10})
    set_table_cell(doc, "stats", "r1", "title", "Squire")
    add_block(doc, "pics", BlockType.GALLERY, "Portraits")
    add_gallery_image(doc, "pics", "i1", "asset-1", label="Young")
    add_gallery_image(doc, "pics", "i2", "asset-2")
    remove_entry(doc, "pics", "images", "i1")
    page = read_page(doc)
    assert page.problems == ()
    stats, pics = page.blocks
    assert [c["slug"] for c in stats.value["columns"]] == ["hit_points", "title"]
    assert stats.value["rows"] == [
        {
            "id": "r1",
            "name": "Level 1",
            "slug": "level_1",
            "cells": {"hit_points": 10, "title": "Squire"},
        }
    ]
    assert [i["assetId"] for i in pics.value["images"]] == ["asset-2"]
    with pytest.raises(ViewError, match="column type"):
        add_table_column(doc, "stats", "c3", "Bio", "rich_text")
    with pytest.raises(ViewError, match="already exists"):
        add_table_row(doc, "stats", "r1", "Dup")
    with pytest.raises(ViewError, match="not a table"):
        add_table_row(doc, "pics", "r2", "Row")
    with pytest.raises(ViewError, match="does not exist"):
        set_table_cell(doc, "stats", "r9", "title", "x")
    assert slugify("  Max. HP (base) ") == "max._hp_base"


def test_page_update_reads_identically_on_a_remote_peer() -> None:
    doc = _sheet()
    set_page_meta(doc, description="<p>Sworn<br>brother</p>")
    for block_type, content in VALUES:
        add_block(doc, f"v-{block_type.value}", block_type, "L")
        set_value(doc, f"v-{block_type.value}", content)
    add_block(doc, "t", BlockType.TABLE, "T")
    add_table_row(doc, "t", "r", "R")
    assert read_page(_remote(doc)) == read_page(doc)
    assert read_page(doc).meta["description"] == "<p>Sworn<br>brother</p>"


def test_page_concurrent_edits_merge_and_read_the_same() -> None:
    a = _sheet()
    add_block(a, "t", BlockType.TABLE, "T")
    add_table_column(a, "t", "c1", "A")
    add_table_column(a, "t", "c2", "B")
    add_table_row(a, "t", "r", "R")
    b = _remote(a)
    set_table_cell(a, "t", "r", "a", 1)
    set_table_cell(b, "t", "r", "b", 2)
    add_block(a, "from-a", BlockType.DATE, "Born")
    add_block(b, "from-b", BlockType.DATE, "Died")
    set_value(a, "name", "Jaime")
    set_label(b, "hp", "Vigour")
    _exchange(a, b)
    page = read_page(a)
    assert page == read_page(b)
    table = page.block("t")
    assert table is not None
    assert table.value["rows"][0]["cells"] == {"a": 1, "b": 2}
    assert {"from-a", "from-b"} <= {block.id for block in page.blocks}
    name, hp = page.block("name"), page.block("hp")
    assert name is not None
    assert hp is not None
    assert (name.content, hp.label) == ("Jaime", "Vigour")


def test_page_concurrent_moves_of_one_block_list_it_once() -> None:
    a = _sheet()
    b = _remote(a)
    move_block(a, "class", 0)
    move_block(b, "class", 1)
    _exchange(a, b)
    assert list(a.get("blockOrder", type=Array)).count("class") == 2
    page = read_page(a)
    assert page == read_page(b)
    assert sorted(_order(a)) == ["bio", "class", "hp", "name"]
    assert [p.message for p in page.problems] == ["block 'class' is listed twice"]
    move_block(a, "class", 3)  # moving again repairs the order
    assert read_page(a).problems == ()


def test_page_concurrent_remove_and_move_is_reported() -> None:
    a = _sheet()
    b = _remote(a)
    remove_block(a, "hp")
    move_block(b, "hp", 0)
    _exchange(a, b)
    page = read_page(a)
    assert page == read_page(b)
    assert _order(a) == ["name", "bio", "class"]
    assert [str(p) for p in page.problems] == ["blockOrder/0: block 'hp' does not exist"]


def test_page_malformed_doc_is_reported_not_raised() -> None:
    doc = _sheet()
    blocks = doc.get("blocks", type=Map)
    order = doc.get("blockOrder", type=Array)
    with doc.transaction():
        blocks["typeless"] = Map({"config": Map({"label": "x"}), "value": Map()})
        blocks["weird"] = Map({"type": "divider", "config": {"label": "flat"}})
        blocks["badnum"] = Map(
            {"type": "number", "config": Map({"label": "N"}), "value": Map({"content": "ten"})}
        )
        blocks["scalar"] = "oops"
        blocks["unlisted"] = Map(
            {"type": "boolean", "config": Map({"label": "B"}), "value": Map({"content": None})}
        )
        order.extend(["typeless", "weird", "badnum", "ghost", 7])
    page = read_page(doc)
    found = {str(p) for p in page.problems}
    assert found == {
        "blocks/typeless: block has no type",
        "blocks/weird: unknown block type 'divider'",
        "blocks/weird: config is not a Y.Map",
        "blocks/weird: value is missing",
        "blocks/badnum: 'ten' is not a number value",
        "blocks/scalar: block is not a map",
        "blockOrder/7: block 'ghost' does not exist",
        "blockOrder/8: entry is not a block id",
        "blocks/unlisted: block is missing from blockOrder",
    }
    assert _order(doc)[-4:] == ["typeless", "weird", "badnum", "unlisted"]
    weird = page.block("weird")
    assert weird is not None
    assert (weird.type, weird.label) == (None, "flat")


def test_page_json_round_trip() -> None:
    doc = _sheet()
    set_page_meta(doc, description="<p>Kingslayer</p>", position="V")
    for block_type, content in VALUES:
        add_block(doc, f"v-{block_type.value}", block_type, "L")
        set_value(doc, f"v-{block_type.value}", content)
    add_block(doc, "t", BlockType.TABLE, "T")
    add_table_column(doc, "t", "c", "Col")
    add_table_row(doc, "t", "r", "Row", cells={"col": {"expression": "1 + 1"}})
    add_block(doc, "g", BlockType.GALLERY, "G")
    add_gallery_image(doc, "g", "i", "asset")
    data = page_to_json(doc)
    assert json.loads(json.dumps(data)) == data
    assert data["blocks"]["v-rich_text"]["value"]["content"] == "<p>Knight<br>of the guard</p>"
    assert data["blockOrder"][0] == "name"
    copy = json_to_page(data)
    assert page_to_json(copy) == data
    assert read_page(copy) == read_page(doc)
    assert isinstance(_block_map(copy, "v-text")["value"]["content"], Text)
    assert isinstance(_block_map(copy, "v-rich_text")["value"]["content"], XmlFragment)
    assert isinstance(_block_map(copy, "v-multi_select")["value"]["content"], Array)
    assert isinstance(copy.get("meta", type=Map)["description"], XmlFragment)


def test_page_edits_carry_the_callers_origin() -> None:
    doc: Doc[Any] = Doc()
    origins: list[int | None] = []
    doc.observe(lambda event: origins.append(event.transaction.origin()))
    add_block(doc, "b", BlockType.TEXT, "L", origin=21)
    set_value(doc, "b", "x", origin=22)
    move_block(doc, "b", 0, origin=23)
    remove_block(doc, "b", origin=24)
    assert origins == [21, 22, 23, 24]
