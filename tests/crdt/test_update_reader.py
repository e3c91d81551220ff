from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdt.errors import ProtocolError, SchemaViolation
from crdt.schema import SCHEMAS, DocKind
from crdt.update_reader import read_update


def _rich_doc() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    doc["nodes"] = nodes = Map()
    doc["blockOrder"] = order = Array()
    nodes["n1"] = Map(
        {
            "type": "dialogue",
            "x": 1.5,
            "data": Map(
                {
                    "text": XmlFragment([XmlElement("p", {"a": "b"}, [XmlText("hi")])]),
                    "list": [1, "a", {"k": True, "n": None}],
                    "big": 2**40,
                    "neg": -5,
                    "bin": b"\x00\x01",
                    "label": Text("hello"),
                }
            ),
        }
    )
    order.append("b1")
    return doc


def test_update_reader_finds_roots_and_their_shape() -> None:
    summary = read_update(_rich_doc().get_update())
    assert set(summary.roots) == {"nodes", "blockOrder"}
    assert summary.roots["nodes"].keyed and not summary.roots["nodes"].sequential
    assert summary.roots["blockOrder"].sequential and not summary.roots["blockOrder"].keyed
    assert summary.structs > 5


def test_update_reader_empty_update_is_empty() -> None:
    assert read_update(Doc().get_update()).is_empty


def test_update_reader_counts_deletions() -> None:
    doc = _rich_doc()
    state = doc.get_state()
    del doc.get("nodes", type=Map)["n1"]
    summary = read_update(doc.get_update(state))
    assert summary.deletes >= 1


def test_update_reader_refuses_every_truncation() -> None:
    update = _rich_doc().get_update()
    for cut in range(len(update)):
        with pytest.raises(ProtocolError):
            read_update(update[:cut])


def test_update_reader_refuses_trailing_bytes() -> None:
    with pytest.raises(ProtocolError):
        read_update(_rich_doc().get_update() + b"\x00")


def test_schema_refuses_unknown_root() -> None:
    doc: Doc[Any] = Doc()
    doc["evil"] = Map()
    doc.get("evil", type=Map)["x"] = 1
    with pytest.raises(SchemaViolation):
        SCHEMAS[DocKind.FLOW].check(read_update(doc.get_update()))


def test_schema_refuses_map_root_written_as_text() -> None:
    doc: Doc[Any] = Doc()
    doc["nodes"] = Text("not a map")
    with pytest.raises(SchemaViolation):
        SCHEMAS[DocKind.FLOW].check(read_update(doc.get_update()))


def test_schema_refuses_sequence_root_written_as_map() -> None:
    doc: Doc[Any] = Doc()
    doc["blockOrder"] = Map({"x": 1})
    with pytest.raises(SchemaViolation):
        SCHEMAS[DocKind.PAGE].check(read_update(doc.get_update()))


def test_schema_accepts_each_kinds_own_roots() -> None:
    tree: Doc[Any] = Doc()
    tree["pages"] = Map({"p1": Map({"name": "Hero"})})
    tree["flows"] = Map({"f1": Map({"name": "Intro"})})
    SCHEMAS[DocKind.TREE].check(read_update(tree.get_update()))
    page: Doc[Any] = Doc()
    page["meta"] = Map({"name": "Hero"})
    page["blocks"] = Map({"b1": Map({"type": "text"})})
    page["blockOrder"] = Array(["b1"])
    SCHEMAS[DocKind.PAGE].check(read_update(page.get_update()))
