"""Splitting a large update: the pieces apply in order, completely, into the same document."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdt.encoding import Reader
from crdt.errors import ProtocolError
from crdt.update_split import _read_structs, split_update


def _state_vector(doc: Doc[Any]) -> dict[int, int]:
    reader = Reader(doc.get_state())
    return {reader.varuint(): reader.varuint() for _ in range(reader.varuint())}


def _sync(a: Doc[Any], b: Doc[Any]) -> None:
    a.apply_update(b.get_update(a.get_state()))
    b.apply_update(a.get_update(b.get_state()))


def _edited_doc(seed: int, peers: int = 3, rounds: int = 120) -> Doc[Any]:
    """Several peers editing the same texts, maps, arrays and XML, merging now and then."""
    rng = random.Random(seed)
    docs: list[Doc[Any]] = [Doc() for _ in range(peers)]
    for doc in docs:
        doc.get("nodes", type=Map)
        doc.get("order", type=Array)
        doc.get("rich", type=XmlFragment)
    with docs[0].transaction():
        nodes = docs[0].get("nodes", type=Map)
        nodes["n0"] = Map({"text": Text("start"), "x": 1})
        docs[0].get("rich", type=XmlFragment).children.append(XmlElement("paragraph"))
    for doc in docs[1:]:
        _sync(docs[0], doc)
    for step in range(rounds):
        doc = rng.choice(docs)
        nodes = doc.get("nodes", type=Map)
        order = doc.get("order", type=Array)
        choice = rng.random()
        with doc.transaction():
            if choice < 0.35 and "n0" in nodes:
                text = nodes["n0"]["text"]
                text.insert(rng.randint(0, len(text)), rng.choice(["a", "bc", "xyz"]))
            elif choice < 0.45 and "n0" in nodes and len(nodes["n0"]["text"]) > 3:
                text = nodes["n0"]["text"]
                at = rng.randint(0, len(text) - 2)
                del text[at : at + 2]
            elif choice < 0.6:
                # Non-ASCII text: Yjs counts its length in UTF-16 units (the emoji counts 2).
                label = Text(rng.choice(["l", "é", "😀", "ab"]) * (step + 1))
                nodes[f"h{step}"] = Map({"type": "hub", "x": step, "label": label})
            elif choice < 0.7 and len(nodes) > 2:
                key = rng.choice([k for k in nodes.keys() if k != "n0"])
                del nodes[key]
            elif choice < 0.85:
                order.insert(rng.randint(0, len(order)), {"id": step, "tags": ["a", "b"]})
                if len(order) > 4 and rng.random() < 0.3:
                    del order[0]
            else:
                fragment = doc.get("rich", type=XmlFragment)
                fragment.children.append(XmlText(f"line {step}"))
        if rng.random() < 0.3:
            a, b = rng.sample(docs, 2)
            _sync(a, b)
    for doc in docs[1:]:
        _sync(docs[0], doc)
    return docs[0]


@pytest.mark.parametrize("seed", range(30))
def test_pieces_rebuild_the_document_and_never_leave_anything_pending(seed: int) -> None:
    original = _edited_doc(seed)
    state = original.get_update()
    pieces = split_update(state, max_bytes=64, max_structs=3)
    assert len(pieces) > 3
    rebuilt: Doc[Any] = Doc()
    for piece in pieces:
        before = _state_vector(rebuilt)
        rebuilt.apply_update(piece)
        after = _state_vector(rebuilt)
        # Every struct of the piece was integrated: the state vector moved by exactly the
        # piece's own structs (a pending struct would leave its client behind).
        grown = sum(after.values()) - sum(before.values())
        assert grown == _clock_ticks(piece)
    whole: Doc[Any] = Doc()
    whole.apply_update(state)
    assert _same(rebuilt, whole)
    assert _state_vector(rebuilt) == _state_vector(whole) == _state_vector(original)


def _clock_ticks(piece: bytes) -> int:
    # What the piece's structs span, read with the splitter's own struct reader.
    return sum(s.clocks[-1] - s.first_clock for s in _read_structs(Reader(piece)) if s.clocks)


def _same(a: Doc[Any], b: Doc[Any]) -> bool:
    return bool(
        a.get("nodes", type=Map).to_py() == b.get("nodes", type=Map).to_py()
        and a.get("order", type=Array).to_py() == b.get("order", type=Array).to_py()
        and str(a.get("rich", type=XmlFragment)) == str(b.get("rich", type=XmlFragment))
    )


def test_small_updates_come_back_whole() -> None:
    doc: Doc[Any] = Doc()
    doc.get("nodes", type=Map)["a"] = 1
    update = doc.get_update()
    assert split_update(update) == [update]


def test_a_malformed_update_is_refused() -> None:
    doc = _edited_doc(1)
    state = doc.get_update()
    with pytest.raises(ProtocolError):
        split_update(state[:-7], max_bytes=16)
    with pytest.raises(ProtocolError):
        split_update(state + b"\x00", max_bytes=16)
