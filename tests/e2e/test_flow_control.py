"""Slow consumers, server-side edits and keepalives, with stock and raw clients."""

from __future__ import annotations

import pytest
from pycrdt import Map, Text, XmlElement, XmlFragment, XmlText

from server.connection import Connection
from tests.e2e.harness import AgentError, eventually, flow_key, open_agent, server_json
from tests.support.live_server import LiveServer, live_server

pytestmark = pytest.mark.e2e

DEV = {"STORYARN_ENV": "development"}


def connection_of(server: LiveServer, user_id: str) -> Connection:
    found = [c for c in server.services.rooms.connections() if c.principal.user_id == user_id]
    assert len(found) == 1, f"expected one connection of {user_id}, found {len(found)}"
    return found[0]


async def test_server_side_edit_reaches_stock_clients() -> None:
    key = flow_key()
    async with live_server(DEV) as server, open_agent(server) as agent:
        await agent.call("connect", name="a", room=key.name)
        await agent.call("connect", name="b", room=key.name)

        async with server.services.rooms.server_edit(key) as doc:
            doc.get("meta", type=Map)["title"] = "From the server"
            rich = XmlFragment([XmlElement("paragraph", {"align": "left"}, [XmlText("para")])])
            data = Map({"text": Text("server text"), "rich": rich})
            doc.get("nodes", type=Map)["s1"] = Map({"type": "hub", "data": data})
        expected = server_json(server, key)
        assert expected["nodes"]["s1"]["data"]["rich"] == (
            '<paragraph align="left">para</paragraph>'
        )

        for name in ("a", "b"):
            await agent.call("waitJSON", name=name, expected=expected)

        # And back: a client edits the server-made text.
        args = {"id": "s1", "index": 0, "text": "client + "}
        after = await agent.call("edit", name="a", recipe="insertText", args=args)
        assert after["nodes"]["s1"]["data"]["text"] == "client + server text"
        await agent.call("waitJSON", name="b", expected=after)
        assert server_json(server, key) == after


async def test_slow_consumer_is_closed_with_1013_and_others_keep_up() -> None:
    key = flow_key()
    per_round, size, max_rounds = 100, 16 * 1024, 30
    # A small frame bound trips first; the byte bound stays above the document's size, so the
    # fresh client's step 2 (one frame holding the whole document) fits.
    env = {**DEV, "STORYARN_SEND_QUEUE_FRAMES": "32"}
    async with (
        live_server(env) as server,
        open_agent(server) as clients,
        open_agent(server) as slow,
    ):
        await clients.call("connect", name="writer", room=key.name)
        await clients.call("edit", name="writer", recipe="addItem", args={"id": "n1", "text": ""})
        await clients.call("connect", name="reader", room=key.name)
        await slow.call("rawOpen", name="slow", room=key.name)
        await slow.call("rawPause", name="slow")
        slow_conn = connection_of(server, "slow")
        room = server.services.rooms.get(key)
        assert room is not None

        # Flood until the paused socket's kernel buffers, then its server queue, are full.
        rounds = 0
        while not slow_conn.closing:
            assert rounds < max_rounds, f"{rounds * per_round * size} bytes sent, still open"
            start = rounds * per_round
            await clients.call(
                "flood", name="writer", id="n1", start=start, count=per_round, size=size
            )
            rounds += 1
            seq = 1 + rounds * per_round  # the item, then one committed update per chunk
            await eventually(lambda s=seq: room.committed_seq >= s, what=f"seq {seq} committed")
        assert slow_conn.close_code == 1013
        assert slow_conn.slow_consumer

        count = rounds * per_round
        data_size = 3 + count  # text, rich, choices and the chunks
        path = ["nodes", "n1", "data"]
        await clients.call("waitSize", name="reader", path=path, size=data_size, timeoutMs=15000)

        await slow.call("rawResume", name="slow")
        close = await slow.call("rawWaitClose", name="slow", timeoutMs=10000, timeout=15)
        assert close["code"] == 1013

        for name in ("writer", "reader"):
            status = await clients.call("status", name=name)
            assert status["closes"] == []
            assert status["connected"]
        joined = await slow.call("connect", name="fresh", room=key.name)
        data = joined["json"]["nodes"]["n1"]["data"]
        assert len(data) == data_size
        assert data[f"chunk-{count - 1}"] == chr(97 + (count - 1) % 26) * size
        assert joined["json"] == server_json(server, key)


async def test_one_frame_bigger_than_the_send_queue_byte_bound_is_not_a_slow_consumer() -> None:
    # A healthy client with an empty queue receives one 1.5 MB frame (a broadcast update, then
    # a joiner's step 2): nothing is backed up, so nobody should be closed as a slow consumer.
    key = flow_key()
    size = 1536 * 1024
    env = {**DEV, "STORYARN_SEND_QUEUE_BYTES": str(1024 * 1024)}
    async with live_server(env) as server, open_agent(server) as agent:
        await agent.call("connect", name="writer", room=key.name)
        await agent.call("edit", name="writer", recipe="addItem", args={"id": "n1", "text": ""})
        await agent.call("connect", name="reader", room=key.name)
        args = {"id": "n1", "size": size}
        await agent.call("edit", name="writer", recipe="fillText", args=args)
        path = ["nodes", "n1", "data", "text"]
        await eventually(
            lambda: len(server_json(server, key)["nodes"]["n1"]["data"]["text"]) == size,
            what="the server to hold the text",
        )

        try:
            await agent.call("waitSize", name="reader", path=path, size=size, timeoutMs=3000)
        except AgentError:
            closes = (await agent.call("status", name="reader"))["closes"]
            raise AssertionError(f"the reader never got the text; closed: {closes}") from None

        try:
            joined = await agent.call("connect", name="fresh", room=key.name, timeoutMs=3000)
        except AgentError:
            closes = (await agent.call("status", name="fresh"))["closes"]
            raise AssertionError(f"a joiner never synced; it was closed: {closes}") from None
        assert len(joined["json"]["nodes"]["n1"]["data"]["text"]) == size
