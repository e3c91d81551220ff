from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from crdt.schema import DocKind
from crdt.views import ViewError
from crdt.views.positions import is_position, position_between, positions_after
from crdt.views.tree import (
    children,
    create_item,
    delete_item,
    json_to_tree,
    move_item,
    position_at,
    read_tree,
    rename_item,
    restore_item,
    set_shortcut,
    tree_to_json,
)

PAGE, FLOW = DocKind.PAGE, DocKind.FLOW


def _remote(doc: Doc[Any]) -> Doc[Any]:
    other: Doc[Any] = Doc()
    other.apply_update(doc.get_update())
    return other


def _exchange(a: Doc[Any], b: Doc[Any]) -> None:
    ua, ub = a.get_update(b.get_state()), b.get_update(a.get_state())
    a.apply_update(ub)
    b.apply_update(ua)


def _ids(doc: Doc[Any], kind: DocKind, parent: str | None = None) -> list[str]:
    return [item.id for item in children(doc, kind, parent)]


def test_position_between_sorts_between_its_bounds() -> None:
    assert position_between(None, None) == "V"
    first = position_between(None, "V")
    last = position_between("V", None)
    assert first < "V" < last
    assert "V" < position_between("V", "W") < "W"
    assert "V" < position_between("V", "V1") < "V1"
    low = position_between(None, "0001")
    assert low < "0001"
    assert is_position(low)


def test_position_between_refuses_bad_keys() -> None:
    for before, after in [("b", "a"), ("a", "a"), ("a0", None), ("", None), (None, "a-b")]:
        with pytest.raises(ValueError, match=r"position|before"):
            position_between(before, after)


def test_position_positions_after_increase() -> None:
    keys = positions_after("V", 5)
    assert keys == sorted(keys)
    assert len(set(keys)) == 5
    assert keys[0] > "V"


@settings(database=None, max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=80))
def test_position_random_inserts_keep_order(spots: list[int]) -> None:
    keys: list[str] = []
    for spot in spots:
        i = spot % (len(keys) + 1)
        before = keys[i - 1] if i else None
        after = keys[i] if i < len(keys) else None
        key = position_between(before, after)
        assert is_position(key)
        keys.insert(i, key)
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_tree_create_and_read_back() -> None:
    doc: Doc[Any] = Doc()
    create_item(doc, PAGE, "p1", "Characters", shortcut="chars")
    create_item(doc, PAGE, "p2", "Jaime", parent_id="p1", shortcut="mc.jaime")
    create_item(doc, FLOW, "f1", "Intro")
    tree = read_tree(doc)
    assert tree.problems == ()
    jaime = tree.items[PAGE]["p2"]
    assert (jaime.name, jaime.shortcut, jaime.parent_id, jaime.deleted_at) == (
        "Jaime",
        "mc.jaime",
        "p1",
        None,
    )
    assert is_position(jaime.position)
    assert _ids(doc, PAGE) == ["p1"]
    assert _ids(doc, PAGE, "p1") == ["p2"]
    assert _ids(doc, FLOW) == ["f1"]


def test_tree_children_ordered_by_position_then_id() -> None:
    doc: Doc[Any] = Doc()
    create_item(doc, FLOW, "b", "B")
    create_item(doc, FLOW, "a", "A")
    create_item(doc, FLOW, "z", "Z", position="0V")
    create_item(doc, FLOW, "y", "Y", position="0V")  # a tie, as after concurrent inserts
    assert _ids(doc, FLOW) == ["y", "z", "b", "a"]


def test_tree_rename_shortcut_delete_restore() -> None:
    doc: Doc[Any] = Doc()
    create_item(doc, PAGE, "p1", "Old")
    rename_item(doc, PAGE, "p1", "New")
    set_shortcut(doc, PAGE, "p1", "loc.tavern")
    delete_item(doc, PAGE, "p1", deleted_at="2026-01-02T03:04:05Z")
    assert _ids(doc, PAGE) == []
    item = children(doc, PAGE, include_deleted=True)[0]
    assert (item.name, item.shortcut, item.deleted_at) == (
        "New",
        "loc.tavern",
        "2026-01-02T03:04:05Z",
    )
    restore_item(doc, PAGE, "p1")
    assert _ids(doc, PAGE) == ["p1"]


def test_tree_move_to_index_and_parent() -> None:
    doc: Doc[Any] = Doc()
    for name in ("a", "b", "c"):
        create_item(doc, PAGE, name, name.upper())
    move_item(doc, PAGE, "c", None, position=position_at(doc, PAGE, None, 0, moving="c"))
    assert _ids(doc, PAGE) == ["c", "a", "b"]
    move_item(doc, PAGE, "c", None, position=position_at(doc, PAGE, None, 1, moving="c"))
    assert _ids(doc, PAGE) == ["a", "c", "b"]
    move_item(doc, PAGE, "b", "a")
    assert _ids(doc, PAGE) == ["a", "c"]
    assert _ids(doc, PAGE, "a") == ["b"]


def test_tree_refuses_local_cycles_and_unknown_ids() -> None:
    doc: Doc[Any] = Doc()
    create_item(doc, PAGE, "a", "A")
    create_item(doc, PAGE, "b", "B", parent_id="a")
    with pytest.raises(ViewError, match="cycle"):
        move_item(doc, PAGE, "a", "b")
    with pytest.raises(ViewError, match="cycle"):
        move_item(doc, PAGE, "a", "a")
    with pytest.raises(ViewError, match="parent"):
        create_item(doc, PAGE, "c", "C", parent_id="missing")
    with pytest.raises(ViewError, match="already exists"):
        create_item(doc, PAGE, "a", "again")
    with pytest.raises(ViewError, match="does not exist"):
        rename_item(doc, FLOW, "a", "flows are separate")
    with pytest.raises(ViewError, match="pages and flows"):
        create_item(doc, DocKind.TREE, "t", "T")


def test_tree_update_reads_identically_on_a_remote_peer() -> None:
    doc: Doc[Any] = Doc()
    create_item(doc, PAGE, "a", "A", shortcut="a")
    create_item(doc, PAGE, "b", "B", parent_id="a")
    create_item(doc, FLOW, "f", "F")
    delete_item(doc, FLOW, "f", deleted_at="2026-01-01T00:00:00Z")
    assert read_tree(_remote(doc)) == read_tree(doc)


def test_tree_concurrent_moves_into_a_cycle_are_reported_and_cut_the_same() -> None:
    a: Doc[Any] = Doc()
    create_item(a, PAGE, "x", "X")
    create_item(a, PAGE, "y", "Y")
    create_item(a, PAGE, "child", "Child", parent_id="y")
    b = _remote(a)
    move_item(a, PAGE, "x", "y")  # each move is fine on its own
    move_item(b, PAGE, "y", "x")
    _exchange(a, b)
    tree = read_tree(a)
    assert tree == read_tree(b)
    assert tree.cycles == {"x", "y"}
    assert [p.message for p in tree.problems] == ["parent cycle: x -> y"]
    assert tree.parent_of(PAGE, "x") is None  # the smallest id becomes a root
    assert _ids(a, PAGE) == ["x"]
    assert _ids(a, PAGE, "x") == ["y"]
    assert _ids(a, PAGE, "y") == ["child"]


def test_tree_concurrent_appends_order_the_same_on_both_peers() -> None:
    a: Doc[Any] = Doc()
    create_item(a, FLOW, "first", "First")
    b = _remote(a)
    create_item(a, FLOW, "from-a", "A")
    create_item(b, FLOW, "from-b", "B")
    _exchange(a, b)
    assert _ids(a, FLOW) == _ids(b, FLOW) == ["first", "from-a", "from-b"]


def test_tree_malformed_items_are_reported_not_raised() -> None:
    doc: Doc[Any] = Doc()
    create_item(doc, PAGE, "ok", "Ok", shortcut="dup")
    create_item(doc, PAGE, "twin", "Twin", shortcut="dup")
    pages = doc.get("pages", type=Map)
    pages["flat"] = "not a map"
    pages["orphan"] = Map({"name": "Orphan", "parentId": "gone", "position": "V"})
    pages["nameless"] = Map({"position": 3, "parentId": None})
    tree = read_tree(doc)
    found = {(p.path, p.message) for p in tree.problems}
    assert ("pages/flat", "item is not a map") in found
    assert ("pages/orphan", "parent 'gone' does not exist") in found
    assert ("pages/nameless", "name is missing") in found
    assert ("pages/nameless", "position is missing or malformed") in found
    assert ("pages/twin", "shortcut 'dup' also used by ok") in found
    assert set(_ids(doc, PAGE)) == {"ok", "twin", "orphan", "nameless"}
    assert _ids(doc, PAGE)[0] == "nameless"  # a malformed position sorts first


def test_tree_json_round_trip() -> None:
    doc: Doc[Any] = Doc()
    create_item(doc, PAGE, "a", "A", shortcut="a")
    create_item(doc, PAGE, "b", "B", parent_id="a")
    create_item(doc, FLOW, "f", "F")
    delete_item(doc, FLOW, "f", deleted_at="2026-01-01T00:00:00Z")
    data = tree_to_json(doc)
    assert json.loads(json.dumps(data)) == data
    assert data["pages"]["b"] == {
        "name": "B",
        "shortcut": None,
        "parentId": "a",
        "position": "V",
        "deletedAt": None,
    }
    copy = json_to_tree(data)
    assert tree_to_json(copy) == data
    assert read_tree(copy) == read_tree(doc)


def test_tree_edits_carry_the_callers_origin() -> None:
    doc: Doc[Any] = Doc()
    origins: list[int | None] = []
    doc.observe(lambda event: origins.append(event.transaction.origin()))
    create_item(doc, PAGE, "a", "A", origin=17)
    move_item(doc, PAGE, "a", None, origin=18)
    rename_item(doc, PAGE, "a", "B")
    assert origins == [17, 18, None]
