import asyncio
import json
from typing import Any

import pytest
from pycrdt import Doc, Map

from crdt.awareness import AwarenessEntry, encode_update
from crdt.messages import encode_awareness, encode_sync_update
from crdt.schema import DocKey, DocKind
from server.auth import Principal, Role
from server.connection import Connection, ConnectionLimits
from tests.server.conftest import set_node
from tests.support.live_server import live_server
from tests.support.yclient import yclient

ROOM = "projects/p1/flows/f1"
KEY = DocKey("p1", DocKind.FLOW, "f1")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x05garbage", "unknown message type"),
        (b"", "truncated"),
        (b"\x00\x02\x09\x01", "past end"),  # truncated sync update
        (b"\x00\x02\x03\x01\x02\x03", "update"),  # well-framed garbage update
        ("text frame", "text frames"),
    ],
)
async def test_limits_malformed_frame_closes_only_its_connection(
    frame: bytes | str, reason: str
) -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url(ROOM, token="ann")) as good,
        yclient(srv.ws_url(ROOM, token="bad")) as bad,
    ):
        set_node(good.doc, "n1", type="hub")
        await good.flush()
        room = srv.services.rooms.get(KEY)
        assert room is not None
        await good.wait_for(lambda: room.committed_seq == 1)
        before = room.protocol.doc.get_update() if room.protocol else b""
        await bad.send_raw(frame)
        assert await bad.wait_closed() == 4400
        assert reason in (bad.ws.close_reason or "")
        assert room.protocol is not None and room.protocol.doc.get_update() == before
        # The other client is still served.
        set_node(good.doc, "n2", type="hub")
        await good.flush()
        await good.wait_for(lambda: room.committed_seq == 2)
        assert good.close_code is None


async def test_limits_update_outside_schema_is_refused_and_not_broadcast() -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url(ROOM, token="ann")) as good,
        yclient(srv.ws_url(ROOM, token="bad")) as bad,
    ):
        evil: Doc[Any] = Doc()
        evil["evil"] = Map({"x": 1})
        await bad.send_raw(encode_sync_update(evil.get_update()))
        assert await bad.wait_closed() == 4400
        room = srv.services.rooms.get(KEY)
        assert room is not None and room.protocol is not None
        assert "evil" not in room.protocol.doc.keys()
        assert room.committed_seq == 0
        assert "evil" not in good.doc.keys()


async def test_limits_frame_over_max_size_closes_4413() -> None:
    async with (
        live_server({"STORYARN_MAX_FRAME_BYTES": "1000"}) as srv,
        yclient(srv.ws_url(ROOM, token="ann")) as a,
    ):
        set_node(a.doc, "n1", type="dialogue", text="x" * 2000)
        await a.flush()
        assert await a.wait_closed() == 4413


async def test_limits_document_over_max_size_closes_4413_and_keeps_content() -> None:
    async with (
        live_server({"STORYARN_MAX_DOC_BYTES": "3000"}) as srv,
        yclient(srv.ws_url(ROOM, token="ann")) as a,
    ):
        for i in range(20):
            set_node(a.doc, f"n{i}", type="dialogue", text="y" * 400)
            await a.flush()
            if a.close_code is not None:
                break
        assert await a.wait_closed() == 4413
        room = srv.services.rooms.get(KEY)
        assert room is not None and room.protocol is not None
        assert 0 < len(room.protocol.doc.get("nodes", type=Map)) < 20
        assert len(room.protocol.doc.get_update()) <= 3000


async def test_limits_update_rate_closes_4429() -> None:
    env = {"STORYARN_UPDATES_PER_SECOND": "5", "STORYARN_UPDATE_BURST": "5"}
    async with live_server(env) as srv, yclient(srv.ws_url(ROOM, token="ann")) as a:
        for i in range(30):
            set_node(a.doc, f"n{i}", type="hub")
            await a.flush()
            if a.close_code is not None:
                break
        assert await a.wait_closed() == 4429


async def test_limits_awareness_rate_closes_4429() -> None:
    env = {"STORYARN_AWARENESS_PER_SECOND": "2", "STORYARN_AWARENESS_BURST": "3"}
    async with live_server(env) as srv, yclient(srv.ws_url(ROOM, token="ann")) as a:
        for clock in range(10):
            entry = AwarenessEntry(7, clock, json.dumps({"cursor": clock}))
            await a.send_raw(encode_awareness(encode_update([entry])))
        assert await a.wait_closed() == 4429


async def test_limits_connection_queue_bound_closes_slow_consumer_1013() -> None:
    sent: list[bytes] = []
    closed: list[int] = []
    never = asyncio.Event()

    async def stuck_send(frame: bytes) -> None:
        sent.append(frame)
        await never.wait()

    async def close(code: int, reason: str) -> None:
        closed.append(code)

    limits = ConnectionLimits(
        max_queue_frames=10,
        max_queue_bytes=1 << 20,
        updates_per_second=1,
        update_burst=1,
        bytes_per_second=1,
        bytes_burst=1,
        awareness_per_second=1,
        awareness_burst=1,
    )
    conn = Connection(16, Principal("u", Role.EDITOR), stuck_send, close, limits)
    writer = asyncio.get_running_loop().create_task(conn.run_writer())
    conn.send(b"first")
    await asyncio.sleep(0.01)  # the writer takes it and blocks on the stuck transport
    for _ in range(11):
        conn.send(b"frame")
    await asyncio.sleep(0.05)
    assert conn.slow_consumer and conn.close_code == 1013
    assert conn.queued_frames == 0  # memory released at once
    never.set()
    await asyncio.wait_for(writer, 1)
    assert closed == [1013]
    assert sent == [b"first"]
