"""Presence between stock clients in separate processes: join, graceful leave, SIGKILL."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.harness import eventually, flow_key, open_agent
from tests.support.live_server import LiveServer, live_server

pytestmark = pytest.mark.e2e

DEV = {"STORYARN_ENV": "development"}


def server_has_presence(server: LiveServer, key_name: str, marker: str) -> bool:
    rooms = [room for room in server.services.rooms.rooms.values() if room.key.name == key_name]
    if not rooms or rooms[0].protocol is None:
        return False
    snapshot = rooms[0].protocol.awareness.snapshot() or b""
    return marker.encode() in snapshot


async def test_awareness_join_graceful_leave_and_abrupt_drop() -> None:
    room = flow_key().name
    async with (
        live_server(DEV) as server,
        open_agent(server) as alice_proc,
        open_agent(server) as bob_proc,
        open_agent(server) as carol_proc,
    ):
        alice = await alice_proc.call("connect", name="alice", room=room)
        await alice_proc.call("setAwareness", name="alice", state={"user": "alice"})
        await eventually(lambda: server_has_presence(server, room, "alice"), what="alice's state")

        # Join: the joiner holds existing states the moment it is synced (no 15 s renewal).
        bob = await bob_proc.call("connect", name="bob", room=room)
        assert bob["states"][str(alice["clientId"])] == {"user": "alice"}
        await bob_proc.call("setAwareness", name="bob", state={"user": "bob"})
        await alice_proc.call("waitAwareness", name="alice", clientId=bob["clientId"], present=True)
        await eventually(lambda: server_has_presence(server, room, "bob"), what="bob's state")

        carol = await carol_proc.call("connect", name="carol", room=room)
        assert carol["states"][str(alice["clientId"])] == {"user": "alice"}
        assert carol["states"][str(bob["clientId"])] == {"user": "bob"}
        await carol_proc.call("setAwareness", name="carol", state={"user": "carol"})
        for proc, name in ((alice_proc, "alice"), (bob_proc, "bob")):
            await proc.call("waitAwareness", name=name, clientId=carol["clientId"], present=True)

        # Graceful leave: provider.destroy() announces a null state.
        await bob_proc.call("destroy", name="bob")
        for proc, name in ((alice_proc, "alice"), (carol_proc, "carol")):
            await proc.call(
                "waitAwareness", name=name, clientId=bob["clientId"], present=False, timeoutMs=1000
            )

        # Abrupt drop: SIGKILL sends nothing; the server must announce the removal itself.
        gone = asyncio.create_task(
            alice_proc.call(
                "waitAwareness",
                name="alice",
                clientId=carol["clientId"],
                present=False,
                timeoutMs=1000,
            )
        )
        await asyncio.sleep(0)  # let the request reach the agent before the kill
        carol_proc.kill()
        assert await carol_proc.wait_exited() == -9
        removal = await gone
        assert removal["elapsedMs"] < 1000

        states = (await alice_proc.call("awareness", name="alice"))["states"]
        assert set(states) == {str(alice["clientId"])}
        assert not server_has_presence(server, room, "carol")
        assert not server_has_presence(server, room, "bob")


async def test_each_awareness_change_reaches_a_peer_once() -> None:
    room = flow_key().name
    async with live_server(DEV) as server, open_agent(server) as agent:
        await agent.call("rawOpen", name="observer", room=room)
        ids = {}
        for name in ("alice", "bob", "carol"):
            ids[name] = (await agent.call("connect", name=name, room=room))["clientId"]
        await agent.call("setAwareness", name="carol", state={"user": "carol"})
        for name in ("alice", "bob"):
            await agent.call("waitAwareness", name=name, clientId=ids["carol"], present=True)
        # Whatever alice and bob send about carol's state goes before their own next change.
        for name in ("alice", "bob"):
            await agent.call("setAwareness", name=name, state={"user": name, "step": 2})

        for name in ("alice", "bob"):
            step2 = {"user": name, "step": 2}
            await agent.call("rawWaitAwareness", name="observer", clientId=ids[name], state=step2)

        frames = await agent.call("rawAwareness", name="observer")
        carol = [
            entry
            for frame in frames
            for entry in frame
            if entry["clientId"] == ids["carol"] and entry["state"] == {"user": "carol"}
        ]
        assert len(carol) == 1, f"carol's state was relayed {len(carol)} times: {frames}"
