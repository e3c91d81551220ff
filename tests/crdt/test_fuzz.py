"""Random frames raise only our protocol errors and never change what other peers see."""

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from crdt import messages
from crdt.errors import CrdtError
from crdt.room import RoomProtocol
from crdt.schema import SCHEMAS, DocKind
from crdt.update_reader import read_update


def _seed_update() -> bytes:
    doc: Doc[Any] = Doc()
    doc["nodes"] = nodes = Map()
    nodes["n1"] = Map({"type": "hub", "x": 1.0, "data": Map({"hubId": "h"})})
    return doc.get_update()


SEED = _seed_update()


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=64),
        st.builds(
            lambda i, b: data[:i] + bytes([b]) + data[i + 1 :],
            st.integers(0, len(data) - 1),
            st.integers(0, 255),
        ),
        st.builds(lambda i: data[:i], st.integers(0, len(data))),
        st.builds(lambda extra: data + extra, st.binary(min_size=1, max_size=8)),
    )


FRAMES = st.one_of(
    st.binary(max_size=128),
    _mutations(messages.encode_sync_update(SEED)),
    _mutations(messages.encode_sync_step1(b"\x01\x05\x03")),
    _mutations(messages.encode_awareness(b"\x01\x05\x01\x02{}")),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FRAMES)
def test_fuzz_decoder_raises_only_protocol_errors(frame: bytes) -> None:
    with contextlib.suppress(CrdtError):
        messages.decode(frame)


@settings(max_examples=600, deadline=None)
@given(_mutations(SEED))
def test_fuzz_update_reader_raises_only_protocol_errors(update: bytes) -> None:
    with contextlib.suppress(CrdtError):
        read_update(update)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAMES, min_size=1, max_size=6))
def test_fuzz_room_refused_frames_change_nothing(frames: list[bytes]) -> None:
    room = RoomProtocol(
        Doc(), SCHEMAS[DocKind.FLOW], max_doc_bytes=1 << 20, max_awareness_bytes=1 << 16
    )
    room.connect(16, writable=True)
    room.connect(17, writable=True)
    room.receive(16, messages.encode_sync_update(SEED))
    room.take_changes()
    for frame in frames:
        state, snapshot = room.doc.get_update(), room.awareness.snapshot()
        try:
            result = room.receive(17, frame)
        except CrdtError:
            # Refused: the Doc and the presence others see are exactly as before.
            assert room.doc.get_update() == state
            assert room.awareness.snapshot() == snapshot
            assert room.take_changes() == []
            continue
        # Accepted: whatever changed stays within the schema and peers get it as a change.
        assert set(room.doc.keys()) <= set(SCHEMAS[DocKind.FLOW].roots)
        for change in room.take_changes():
            read_update(change.update)
        if result.relay is not None:
            assert isinstance(messages.decode(result.relay), messages.Awareness)
