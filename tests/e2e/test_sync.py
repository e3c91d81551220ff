"""Document sync between stock y-websocket clients through a real server."""

from __future__ import annotations

import pytest

from crdt.schema import DocKey
from tests.e2e.harness import (
    eventually,
    flow_key,
    open_agent,
    page_key,
    run_script,
    server_json,
)
from tests.support.live_server import live_server

pytestmark = pytest.mark.e2e

DEV = {"STORYARN_ENV": "development"}


@pytest.mark.parametrize("key", [flow_key(), page_key()], ids=["flow", "page"])
async def test_two_clients_converge_on_map_array_text_and_xml(key: DocKey) -> None:
    async with live_server(DEV) as server:
        result = await run_script("converge.mjs", "--server", server.ws_base, "--room", key.name)

        a, b = result["a"], result["b"]
        assert a == b
        assert result["initial"] != a  # the concurrent edits did change something
        item = a[{"flows": "nodes", "pages": "blocks"}[key.kind.value]]["n1"]
        data = item["data"]
        assert data["text"] == "A says: Hello (bob)"
        assert sorted(data["choices"]) == ["fromA", "fromB"]  # bob deleted "first"
        assert data["rich"] == (
            "<paragraph>alpha</paragraph><paragraph>Hello</paragraph><paragraph>omega</paragraph>"
        )
        assert data["owner"] in ("alice", "bob")
        assert (data["onlyA"], data["onlyB"]) == (1, 2)
        assert a["meta"] == {"a": True, "b": True}
        if key.kind.value == "pages":
            assert a["blockOrder"][0] == "pB"
            assert sorted(a["blockOrder"]) == ["n1", "pA", "pB"]
        assert result["closes"] == {"a": [], "b": []}
        assert server_json(server, key) == a


@pytest.mark.parametrize("unload", [False, True], ids=["writer-online", "room-reloaded"])
async def test_late_joiner_gets_the_full_state(unload: bool) -> None:
    key = flow_key()
    env = {**DEV, "STORYARN_ROOM_GRACE_SECONDS": "0.05"}
    async with live_server(env) as server, open_agent(server) as agent:
        await agent.call("connect", name="a", room=key.name)
        edits = [
            ("addItem", {"id": "n1", "text": "Hello"}),
            ("addItem", {"id": "n2", "text": "doomed"}),
            ("insertText", {"id": "n1", "text": ", world"}),
            ("setMeta", {"key": "title", "value": "Chapter 1"}),
            ("deleteItem", {"id": "n2"}),
        ]
        for recipe, args in edits:
            written = await agent.call("edit", name="a", recipe=recipe, args=args)
        assert written["nodes"]["n1"]["data"]["text"] == "Hello, world"
        assert "n2" not in written["nodes"]
        await eventually(lambda: server_json(server, key) == written, what="the server's copy")

        if unload:
            await agent.call("destroy", name="a")
            await eventually(
                lambda: server.services.rooms.get(key) is None, what="the room to unload"
            )

        joined = await agent.call("connect", name="b", room=key.name)
        assert joined["json"] == written
        assert server_json(server, key) == written


async def test_offline_edits_on_both_sides_merge_after_reconnect() -> None:
    key = flow_key()
    async with live_server(DEV) as server:
        result = await run_script(
            "offline_merge.mjs", "--server", server.ws_base, "--room", key.name
        )

        offline_a = result["offline"]["a"]["nodes"]["n1"]["data"]
        offline_b = result["offline"]["b"]["nodes"]["n1"]["data"]
        assert offline_a["text"] == "offline A, Hello"  # neither saw the other while offline
        assert offline_b["text"] == "Hello, offline B"
        a, b = result["a"], result["b"]
        assert a == b
        data = a["nodes"]["n1"]["data"]
        assert data["text"] == "offline A, Hello, offline B"
        assert data["choices"] == []
        assert data["rich"] == "<paragraph>Hello</paragraph><paragraph>from B</paragraph>"
        assert data["x"] == "from A"
        assert a["meta"] == {"a": "offline", "b": "offline"}
        assert server_json(server, key) == a


async def test_twenty_clients_random_concurrent_edits_converge() -> None:
    key = flow_key()
    async with live_server(DEV) as server:
        result = await run_script(
            "many_editors.mjs",
            *("--server", server.ws_base, "--room", key.name),
            *("--clients", "20", "--ops", "40", "--seed", "11"),
            timeout=30,
        )

        assert result["identical"] is True
        assert sum(result["counts"].values()) == 20 * 40
        assert set(result["counts"]) >= {"add", "text", "array", "xml", "meta", "delete"}
        assert result["closes"] == []
        json = result["json"]
        assert all(json["meta"][f"done-c{i}"] is True for i in range(20))
        assert len(json["nodes"]) > 0
        assert server_json(server, key) == json


async def test_a_two_megabyte_update_reaches_another_client() -> None:
    key = flow_key()
    size = 2 * 1024 * 1024
    async with live_server(DEV) as server:
        result = await run_script(
            "big_update.mjs", "--server", server.ws_base, "--room", key.name, "--size", str(size)
        )

        assert result["updateBytes"] > size
        assert result["received"] == result["sent"]
        assert result["sent"]["length"] == size
        assert result["closes"] == {"a": [], "b": []}
        text = server_json(server, key)["nodes"]["big"]["data"]["text"]
        assert len(text) == size


async def test_forty_clients_opening_ten_new_rooms_at_once_all_sync() -> None:
    project, prefix = flow_key().project_id, "join"
    async with live_server(DEV) as server:
        assert server.services.rooms.rooms == {}
        result = await run_script(
            "concurrent_join.mjs",
            *("--server", server.ws_base, "--project", project, "--prefix", prefix),
            *("--rooms", "10", "--per-room", "4"),
        )

        assert result["clients"] == 40
        assert result["closes"] == []
        for r in range(10):
            key = flow_key(project, f"{prefix}-{r}")
            names = sorted(f"u{r}-{k}" for k in range(4))
            assert result["rooms"][key.name] == names
            assert server_json(server, key)["meta"] == dict.fromkeys(names, True)
