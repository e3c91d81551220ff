import json
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt import messages
from crdt.awareness import AwarenessEntry, encode_update, parse_update
from crdt.errors import ProtocolError, SchemaViolation, TooLarge
from crdt.room import SERVER_ORIGIN, RoomProtocol
from crdt.schema import SCHEMAS, DocKind

A, B = 16, 17


def _room(**limits: int) -> RoomProtocol:
    return RoomProtocol(
        Doc(),
        SCHEMAS[DocKind.FLOW],
        max_doc_bytes=limits.get("max_doc_bytes", 1 << 20),
        max_awareness_bytes=limits.get("max_awareness_bytes", 1 << 16),
    )


def _node_update(key: str = "n1", value: object = "dialogue") -> bytes:
    doc: Doc[Any] = Doc()
    doc["nodes"] = nodes = Map()
    nodes[key] = Map({"type": value})
    return doc.get_update()


def test_room_connect_sends_step1_then_presence() -> None:
    room = _room()
    first = room.connect(A, writable=True)
    assert first == [messages.encode_sync_step1(room.doc.get_state())]
    room.receive(A, messages.encode_awareness(encode_update([AwarenessEntry(1, 0, "{}")])))
    frames = room.connect(B, writable=True)
    assert len(frames) == 2
    assert isinstance(messages.decode(frames[1]), messages.Awareness)


def test_room_update_is_applied_with_its_connection_as_origin() -> None:
    room = _room()
    room.connect(A, writable=True)
    room.receive(A, messages.encode_sync_update(_node_update()))
    changes = room.take_changes()
    assert [c.origin for c in changes] == [A]
    assert room.doc.get("nodes", type=Map)["n1"]["type"] == "dialogue"
    assert room.take_changes() == []


def test_room_duplicate_update_produces_no_change() -> None:
    room = _room()
    room.connect(A, writable=True)
    update = _node_update()
    room.receive(A, messages.encode_sync_update(update))
    room.take_changes()
    room.receive(A, messages.encode_sync_update(update))
    assert room.take_changes() == []


def test_room_server_edit_is_a_change_with_server_origin() -> None:
    room = _room()
    with room.doc.transaction(origin=SERVER_ORIGIN):
        room.doc["meta"] = Map({"name": "Intro"})
    assert [c.origin for c in room.take_changes()] == [SERVER_ORIGIN]


def test_room_read_only_peer_update_is_dropped() -> None:
    room = _room()
    room.connect(A, writable=False)
    result = room.receive(A, messages.encode_sync_update(_node_update()))
    assert result.dropped_update
    assert room.take_changes() == []
    assert "nodes" not in room.doc.keys()


def test_room_step1_asks_for_a_step2_answer() -> None:
    room = _room()
    room.connect(A, writable=True)
    room.receive(A, messages.encode_sync_update(_node_update()))
    result = room.receive(A, messages.encode_sync_step1(b"\x00"))
    assert result.sync_request == b"\x00"
    answer = messages.decode(room.sync_step2(b"\x00"))
    assert isinstance(answer, messages.SyncStep2)
    fresh: Doc[Any] = Doc()
    fresh.apply_update(answer.update)
    assert fresh.get("nodes", type=Map)["n1"]["type"] == "dialogue"


def test_room_schema_violation_changes_nothing() -> None:
    room = _room()
    room.connect(A, writable=True)
    evil: Doc[Any] = Doc()
    evil["evil"] = Map({"x": 1})
    with pytest.raises(SchemaViolation):
        room.receive(A, messages.encode_sync_update(evil.get_update()))
    assert room.take_changes() == []
    assert "evil" not in room.doc.keys()


def test_room_document_size_limit() -> None:
    room = _room(max_doc_bytes=200)
    room.connect(A, writable=True)
    with pytest.raises(TooLarge):
        room.receive(A, messages.encode_sync_update(_node_update(value="x" * 500)))
    assert room.take_changes() == []


def test_room_awareness_is_relayed_and_removed_on_disconnect() -> None:
    room = _room()
    room.connect(A, writable=True)
    room.connect(B, writable=True)
    frame = messages.encode_awareness(encode_update([AwarenessEntry(9, 2, json.dumps({"u": 1}))]))
    assert room.receive(A, frame).relay == frame
    removal = room.disconnect(A)
    assert removal is not None
    decoded = messages.decode(removal)
    assert isinstance(decoded, messages.Awareness)
    assert parse_update(decoded.update) == [AwarenessEntry(9, 3, "null")]


def test_room_query_awareness_answers_with_every_state() -> None:
    room = _room()
    room.connect(A, writable=True)
    room.connect(B, writable=True)
    room.receive(A, messages.encode_awareness(encode_update([AwarenessEntry(9, 0, "{}")])))
    reply = room.receive(B, b"\x03").reply
    assert len(reply) == 1


def test_room_awareness_size_limit() -> None:
    room = _room(max_awareness_bytes=10)
    room.connect(A, writable=True)
    big = encode_update([AwarenessEntry(9, 0, json.dumps({"x": "y" * 50}))])
    with pytest.raises(TooLarge):
        room.receive(A, messages.encode_awareness(big))


def test_room_frame_from_unknown_connection_is_refused() -> None:
    room = _room()
    with pytest.raises(ProtocolError):
        room.receive(A, messages.encode_sync_step1(b"\x00"))


def test_room_full_state_answer_is_encoded_once_until_the_doc_changes() -> None:
    room = _room()
    room.connect(A, writable=True)
    room.receive(A, messages.encode_sync_update(_node_update()))
    first = room.sync_step2(b"\x00")
    assert room.sync_step2(b"\x00") is first  # reused, not re-encoded
    room.receive(A, messages.encode_sync_update(_node_update("n2")))
    fresh = room.sync_step2(b"\x00")
    assert fresh is not first
    decoded = messages.decode(fresh)
    assert isinstance(decoded, messages.SyncStep2)
    doc: Doc[Any] = Doc()
    doc.apply_update(decoded.update)
    assert set(doc.get("nodes", type=Map).keys()) == {"n1", "n2"}
