from typing import Any

from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdt.restore import _plain, restore
from crdt.schema import SCHEMAS, DocKind

FLOW = SCHEMAS[DocKind.FLOW]
PAGE = SCHEMAS[DocKind.PAGE]


def _sync(a: Doc[Any], b: Doc[Any]) -> None:
    a.apply_update(b.get_update(a.get_state()))
    b.apply_update(a.get_update(b.get_state()))


def _flow(doc: Doc[Any]) -> dict[str, Any]:
    return {name: doc.get(name, type=Map).to_py() for name in FLOW.roots}


def _clone(doc: Doc[Any]) -> Doc[Any]:
    copy: Doc[Any] = Doc()
    copy.apply_update(doc.get_update())
    return copy


def _make_flow() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    doc["meta"] = Map({"name": "Intro"})
    doc["nodes"] = Map(
        {
            "n1": Map({"type": "dialogue", "data": Map({"menuText": Text("Hello there")})}),
            "n2": Map({"type": "hub", "x": 1.0}),
        }
    )
    doc["connections"] = Map({"c1": Map({"sourceNodeId": "n1", "targetNodeId": "n2"})})
    return doc


def test_restore_makes_the_live_doc_read_like_the_version() -> None:
    live = _make_flow()
    version = _clone(live)
    nodes = live.get("nodes", type=Map)
    del nodes["n2"]
    nodes["n3"] = Map({"type": "jump"})
    menu = nodes["n1"]["data"]["menuText"]
    menu.insert(len(menu), " and more")
    live.get("meta", type=Map)["name"] = "Renamed"
    with live.transaction():
        restore(live, version, FLOW)
    assert _flow(live) == _flow(version)


def test_restore_is_forward_so_stale_peers_cannot_resurrect_deletions() -> None:
    live = _make_flow()
    version = _clone(live)
    peer = _clone(live)
    live.get("nodes", type=Map)["late"] = Map({"type": "exit"})
    _sync(live, peer)  # the peer holds the node the restore is about to remove
    with live.transaction():
        restore(live, version, FLOW)
    # Meanwhile the peer keeps editing elsewhere, then merges.
    peer.get("nodes", type=Map)["n1"]["x"] = 5.0
    _sync(live, peer)
    for doc in (live, peer):
        nodes = doc.get("nodes", type=Map).to_py()
        assert "late" not in nodes  # not resurrected
        assert nodes["n1"]["x"] == 5.0  # the concurrent edit survives
    assert _flow(live) == _flow(peer)


def test_restore_edits_text_only_where_it_differs() -> None:
    live = _make_flow()
    version = _clone(live)
    peer = _clone(live)
    text = live.get("nodes", type=Map)["n1"]["data"]["menuText"]
    text.insert(5, " big")  # "Hello big there"
    _sync(live, peer)
    with live.transaction():
        restore(live, version, FLOW)
    # The peer appends concurrently at the end: its words survive the restore.
    peer_text = peer.get("nodes", type=Map)["n1"]["data"]["menuText"]
    peer_text.insert(len(peer_text), "!")
    _sync(live, peer)
    assert str(live.get("nodes", type=Map)["n1"]["data"]["menuText"]) == "Hello there!"


def test_restore_sequences_and_rich_text() -> None:
    live: Doc[Any] = Doc()
    live["blockOrder"] = Array(["b1", "b2", "b3"])
    live["blocks"] = Map(
        {
            "b1": Map(
                {
                    "type": "rich_text",
                    "value": Map({"content": XmlFragment([XmlElement("p", {}, [XmlText("one")])])}),
                }
            )
        }
    )
    version = _clone(live)
    live.get("blockOrder", type=Array).insert(1, "bx")
    del live.get("blockOrder", type=Array)[3]
    fragment = live.get("blocks", type=Map)["b1"]["value"]["content"]
    fragment.children.append(XmlElement("p", {}, [XmlText("two")]))
    with live.transaction():
        restore(live, version, PAGE)
    assert live.get("blockOrder", type=Array).to_py() == ["b1", "b2", "b3"]
    assert str(live.get("blocks", type=Map)["b1"]["value"]["content"]) == "<p>one</p>"
    assert _plain(live.get("blocks", type=Map)) == _plain(version.get("blocks", type=Map))
