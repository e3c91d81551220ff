"""The pure projection: rows and repairs from a Doc, no database."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, XmlElement

from crdt.schema import DocKind
from crdt.views import (
    SourceType,
    TranslationKey,
    add_block,
    add_node,
    add_response,
    connect,
    create_item,
    set_locale,
    set_meta,
    set_reference,
    set_translation,
)
from persistence.projection import ProjectContext, project_flow, project_page, project_tree

CONTEXT = ProjectContext(seq=3, source_locale="en", target_locales=("es", "fr"))


def _codes(projection: Any) -> list[str]:
    return [flag.code for flag in projection.flags]


def _tree_item(doc: Doc[Any], root: str, item_id: str, **fields: Any) -> None:
    base = {"name": item_id, "shortcut": None, "parentId": None, "position": "V"}
    doc.get(root, type=Map)[item_id] = Map({**base, "deletedAt": None, **fields})


def test_projection_tree_rows_and_locales() -> None:
    doc: Doc[Any] = Doc()
    create_item(doc, DocKind.PAGE, "p1", "Characters", shortcut="chars")
    create_item(doc, DocKind.PAGE, "p2", "Jaime", parent_id="p1")
    create_item(doc, DocKind.FLOW, "f1", "Intro")
    set_locale(doc, "en", "English", is_source=True)
    set_locale(doc, "es", "Spanish")
    out = project_tree(doc, "proj")
    rows = {(r["kind"], r["id"]): r for r in out.rows["tree_entries"]}
    assert rows["page", "p2"]["parent_id"] == "p1"
    assert rows["page", "p1"]["parent_id"] == ""
    assert rows["page", "p1"]["shortcut"] == "chars"
    assert rows["flow", "f1"]["name"] == "Intro"
    assert [(r["locale_code"], r["is_source"]) for r in out.rows["project_locales"]] == [
        ("en", True),
        ("es", False),
    ]
    assert out.flags == []


def test_projection_tree_breaks_a_cycle_at_the_smallest_id() -> None:
    doc: Doc[Any] = Doc()
    _tree_item(doc, "pages", "b", parentId="a")
    _tree_item(doc, "pages", "a", parentId="c")
    _tree_item(doc, "pages", "c", parentId="b")
    _tree_item(doc, "pages", "d", parentId="missing")
    out = project_tree(doc, "proj")
    parents = {r["id"]: r["parent_id"] for r in out.rows["tree_entries"]}
    assert parents == {"a": "", "b": "a", "c": "b", "d": ""}
    assert _codes(out).count("tree_cycle") == 1
    assert _codes(out).count("orphan_parent") == 1


def test_projection_tree_duplicate_shortcuts_keep_the_first_id() -> None:
    doc: Doc[Any] = Doc()
    _tree_item(doc, "pages", "b", shortcut="mc.jaime")
    _tree_item(doc, "pages", "a", shortcut="mc.jaime")
    _tree_item(doc, "pages", "c", shortcut="mc.jaime", deletedAt="2026-01-01T00:00:00Z")
    _tree_item(doc, "flows", "z", shortcut="mc.jaime")  # another kind: no clash
    out = project_tree(doc, "proj")
    shortcuts = {(r["kind"], r["id"]): r["shortcut"] for r in out.rows["tree_entries"]}
    assert shortcuts == {
        ("page", "a"): "mc.jaime",
        ("page", "b"): None,
        ("page", "c"): "mc.jaime",
        ("flow", "z"): "mc.jaime",
    }
    assert _codes(out).count("duplicate_shortcut") == 1


def test_projection_tree_malformed_values_are_skipped_and_flagged() -> None:
    doc: Doc[Any] = Doc()
    _tree_item(doc, "pages", "a", position="bad position!", name=42)
    _tree_item(doc, "pages", "x" * 80)
    _tree_item(doc, "pages", "child", parentId="x" * 80)
    doc.get("pages", type=Map)["flat"] = "not a map"
    out = project_tree(doc, "proj")
    row, child = out.rows["tree_entries"]
    assert (row["position"], row["name"]) == ("", None)
    assert child["parent_id"] == ""
    assert "malformed" in _codes(out) and "orphan_parent" in _codes(out)


def _flow() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    set_meta(doc, name="Tavern", isMain=True)
    add_node(doc, "n0", "entry", 0, 0)
    add_node(doc, "n1", "dialogue", 10, 20, text="<p>Hi there</p>", speakerSheetId="jaime")
    add_response(doc, "n1", "r1", "Bye")
    add_node(doc, "n2", "exit", 30, 40, label="End")
    add_node(doc, "n3", "subflow", 0, 0, referencedFlowId="f9")
    connect(doc, "c1", "n0", "output", "n1")
    connect(doc, "c2", "n1", "r1", "n2")
    return doc


def test_projection_flow_rows() -> None:
    doc = _flow()
    key = TranslationKey(SourceType.FLOW_NODE, "n1", "text", "es")
    set_translation(doc, key, "Hola", status="review")
    out = project_flow(doc, "proj", "f1", CONTEXT)
    [flow] = out.rows["flows"]
    assert flow["name"] == "Tavern" and flow["is_main"] and flow["entry_node_id"] == "n0"
    assert (flow["node_count"], flow["connection_count"]) == (4, 2)
    nodes = {r["id"]: r for r in out.rows["flow_nodes"]}
    assert (nodes["n1"]["type"], nodes["n1"]["x"], nodes["n1"]["y"]) == ("dialogue", 10, 20)
    assert nodes["n1"]["data"]["text"] == "<p>Hi there</p>"
    texts = {
        (r["source_id"], r["source_field"], r["locale_code"]): r
        for r in out.rows["localized_texts"]
    }
    assert set(texts) == {
        (node, field, locale)
        for node, field in [("n1", "text"), ("n1", "response.r1.text"), ("n2", "label")]
        for locale in ("en", "es", "fr")
    }
    assert texts["n1", "text", "es"]["translated_text"] == "Hola"
    assert texts["n1", "text", "es"]["status"] == "review"
    assert texts["n1", "text", "fr"]["status"] == "pending"
    assert texts["n1", "text", "en"]["translated_text"] == "Hi there"
    assert texts["n1", "text", "en"]["speaker"] == "jaime"
    assert texts["n1", "text", "fr"]["word_count"] == 2
    refs = {
        (r["source_id"], r["target_type"], r["target_id"], r["context"])
        for r in out.rows["entity_references"]
    }
    assert refs == {("n1", "page", "jaime", "speaker"), ("n3", "flow", "f9", "subflow")}
    assert out.context_seq == 3
    assert out.flags == []


def test_projection_references_include_mentions() -> None:
    doc = _flow()
    text = doc.get("nodes", type=Map)["n1"]["data"]["text"]
    mention = XmlElement("mention", {"id": "ana", "type": "sheet", "label": "Ana"})
    text.children.append(XmlElement("paragraph", None, [mention]))
    out = project_flow(doc, "proj", "f1", CONTEXT)
    refs = {(r["source_id"], r["target_id"], r["context"]) for r in out.rows["entity_references"]}
    assert ("n1", "ana", "dialogue") in refs
    page: Doc[Any] = Doc()
    add_block(page, "b1", "rich_text", "Notes", value={"content": "<p>x</p>"})
    content = page.get("blocks", type=Map)["b1"]["value"]["content"]
    content.children.append(
        XmlElement("paragraph", None, [XmlElement("mention", {"id": "f1", "type": "flow"})])
    )
    rows = project_page(page, "proj", "p1", CONTEXT).rows["entity_references"]
    assert [(r["target_type"], r["target_id"], r["context"]) for r in rows] == [
        ("flow", "f1", "content")
    ]


def test_projection_flow_repairs() -> None:
    doc = _flow()
    nodes = doc.get("nodes", type=Map)
    nodes["n9"] = Map({"type": "entry", "x": 0.0, "y": 0.0, "data": Map()})  # a merged second
    nodes["n4"] = Map({"type": "hub", "x": "left", "y": 1.0, "data": Map()})
    connections = doc.get("connections", type=Map)
    base = {"sourcePin": "output", "targetPin": "input", "label": None}
    connections["c3"] = Map({**base, "sourceNodeId": "n0", "targetNodeId": "gone"})
    connections["c4"] = Map({**base, "sourceNodeId": "n9", "targetNodeId": "n1"})
    connections["c5"] = Map({**base, "sourceNodeId": "n0", "targetNodeId": "n1"})  # dup of c1
    connections["c6"] = Map({**base, "sourceNodeId": "n4", "targetNodeId": "n4"})
    out = project_flow(doc, "proj", "f1", CONTEXT)
    assert {r["id"] for r in out.rows["flow_nodes"]} == {"n0", "n1", "n2", "n3", "n4"}
    assert {r["id"] for r in out.rows["flow_connections"]} == {"c1", "c2"}
    hub = next(r for r in out.rows["flow_nodes"] if r["id"] == "n4")
    assert (hub["x"], hub["y"]) == (None, 1.0)
    codes = _codes(out)
    assert codes.count("extra_entry") == 1
    assert codes.count("dropped_connection") == 4
    assert out.rows["flows"][0]["entry_node_id"] == "n0"


def test_projection_page_rows_take_the_name_from_the_tree() -> None:
    doc: Doc[Any] = Doc()
    add_block(doc, "b1", "text", "Bio", value={"content": "A brave knight"})
    add_block(doc, "b2", "reference", "Home")
    set_reference(doc, "b2", "sheet", "p7")
    name_key = TranslationKey(SourceType.PAGE, "p1", "name", "fr")
    set_translation(doc, name_key, "Jacques", status="final")
    context = ProjectContext(
        seq=1, source_locale="en", target_locales=("fr",), page_names={"p1": "Jaime"}
    )
    out = project_page(doc, "proj", "p1", context)
    texts = {
        (r["source_type"], r["source_field"], r["locale_code"]): r
        for r in out.rows["localized_texts"]
    }
    assert texts["page", "name", "en"]["source_text"] == "Jaime"
    assert texts["page", "name", "fr"]["translated_text"] == "Jacques"
    assert texts["block", "value.content", "fr"]["status"] == "pending"
    assert [
        (r["source_id"], r["target_type"], r["target_id"], r["context"])
        for r in out.rows["entity_references"]
    ] == [("b2", "page", "p7", "value")]


def test_projection_without_locales_has_no_localized_rows() -> None:
    out = project_flow(_flow(), "proj", "f1", ProjectContext())
    assert out.rows["localized_texts"] == []


_IDS = st.sampled_from(["a", "b", "c", "d", "e"])


@settings(max_examples=150, deadline=None)
@given(
    nodes=st.dictionaries(
        _IDS, st.sampled_from(["entry", "hub", "dialogue", "exit", "bogus", None])
    ),
    conns=st.dictionaries(
        st.sampled_from(["c1", "c2", "c3", "c4", "c5", "c6"]),
        st.tuples(_IDS, st.sampled_from(["output", "true", "x"]), _IDS),
    ),
)
def test_projection_flow_invariants_hold_for_any_merge(
    nodes: dict[str, str | None], conns: dict[str, tuple[str, str, str]]
) -> None:
    doc: Doc[Any] = Doc()
    root = doc.get("nodes", type=Map)
    for node_id, node_type in nodes.items():
        root[node_id] = Map({"type": node_type, "x": 1.0, "y": 2.0, "data": Map()})
    links = doc.get("connections", type=Map)
    for conn_id, (source, pin, target) in conns.items():
        links[conn_id] = Map(
            {"sourceNodeId": source, "sourcePin": pin, "targetNodeId": target, "targetPin": "input"}
        )
    out = project_flow(doc, "p", "f", CONTEXT)
    kept = {r["id"] for r in out.rows["flow_nodes"]}
    entries = [r for r in out.rows["flow_nodes"] if r["type"] == "entry"]
    assert len(entries) <= 1
    keys = set()
    for conn in out.rows["flow_connections"]:
        assert conn["source_node_id"] in kept and conn["target_node_id"] in kept
        assert conn["source_node_id"] != conn["target_node_id"]
        key = (
            conn["source_node_id"],
            conn["source_pin"],
            conn["target_node_id"],
            conn["target_pin"],
        )
        assert key not in keys
        keys.add(key)
    peer: Doc[Any] = Doc()
    peer.apply_update(doc.get_update())
    assert project_flow(peer, "p", "f", CONTEXT).rows == out.rows  # the same on every instance


@settings(max_examples=150, deadline=None)
@given(
    parents=st.dictionaries(_IDS, st.one_of(st.none(), _IDS, st.just("zz"))),
    shortcuts=st.dictionaries(_IDS, st.sampled_from(["s1", "s2"])),
)
def test_projection_tree_invariants_hold_for_any_merge(
    parents: dict[str, str | None], shortcuts: dict[str, str]
) -> None:
    doc: Doc[Any] = Doc()
    for item_id, parent in parents.items():
        _tree_item(doc, "pages", item_id, parentId=parent, shortcut=shortcuts.get(item_id))
    out = project_tree(doc, "p")
    parent_of = {r["id"]: r["parent_id"] for r in out.rows["tree_entries"]}
    for start in parent_of:  # every chain reaches a root: no cycle survives
        seen, node = set(), start
        while node:
            assert node not in seen and node in parent_of
            seen.add(node)
            node = parent_of[node]
    used = [r["shortcut"] for r in out.rows["tree_entries"] if r["shortcut"]]
    assert len(used) == len(set(used))
