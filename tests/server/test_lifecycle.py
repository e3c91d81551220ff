import asyncio
import contextlib
from typing import Any

from pycrdt import Doc, Map

from crdt.schema import DocKey, DocKind
from server.room import RoomState
from tests.server.conftest import CountingStore, set_node
from tests.support.live_server import live_server
from tests.support.yclient import yclient


async def test_lifecycle_concurrent_first_join_loads_each_room_once() -> None:
    store = CountingStore()
    async with live_server(store=store) as srv, contextlib.AsyncExitStack() as stack:
        urls = [srv.ws_url(f"projects/p1/flows/room{i % 10}", token=f"u{i}") for i in range(40)]
        # 40 clients open 10 new rooms at the same moment: all sync, one load each.
        clients = await asyncio.gather(*(stack.enter_async_context(yclient(u)) for u in urls))
        assert all(c.synced.is_set() for c in clients)
        assert len(store.loads) == 10
        assert set(store.loads.values()) == {1}
        set_node(clients[0].doc, "n", type="hub")
        await clients[0].flush()
        for peer in clients[10::10]:
            await peer.wait_for(lambda p=peer: "n" in p.doc.get("nodes", type=Map))


async def test_lifecycle_nobody_is_served_before_the_load_completes() -> None:
    store = CountingStore()
    store.load_gate = asyncio.Event()
    async with live_server(store=store) as srv:
        url = srv.ws_url("projects/p1/flows/slow", token="ann")
        enter = asyncio.get_running_loop().create_task(yclient(url).__aenter__())
        await asyncio.sleep(0.3)
        assert not enter.done()  # no sync step yet: the room is still loading
        key = DocKey("p1", DocKind.FLOW, "slow")
        room = srv.services.rooms.get(key)
        assert room is not None and room.state is RoomState.LOADING
        store.load_gate.set()
        client = await asyncio.wait_for(enter, 5)
        assert room.state is RoomState.ACTIVE
        await client.close()


async def test_lifecycle_room_unloads_after_grace_and_reloads_from_store() -> None:
    store = CountingStore()
    key = DocKey("p1", DocKind.FLOW, "f1")
    async with live_server({"STORYARN_ROOM_GRACE_SECONDS": "0.2"}, store=store) as srv:
        url = srv.ws_url("projects/p1/flows/f1", token="ann")
        async with yclient(url) as a:
            set_node(a.doc, "n1", type="hub")
            await a.flush()
            room = srv.services.rooms.get(key)
            assert room is not None
            await a.wait_for(lambda: room.committed_seq == 1)
        await a.wait_for(lambda: srv.services.rooms.get(key) is None, timeout=3)
        assert room.state is RoomState.UNLOADED
        async with yclient(url) as b:
            assert "n1" in b.doc.get("nodes", type=Map)
        assert store.loads[key] == 2


async def test_lifecycle_client_arriving_while_draining_revives_the_room() -> None:
    store = CountingStore()
    key = DocKey("p1", DocKind.FLOW, "f1")
    async with live_server({"STORYARN_ROOM_GRACE_SECONDS": "1.0"}, store=store) as srv:
        url = srv.ws_url("projects/p1/flows/f1", token="ann")
        async with yclient(url) as a:
            set_node(a.doc, "n1", type="hub")
            await a.flush()
            room = srv.services.rooms.get(key)
            assert room is not None
            await a.wait_for(lambda: room.committed_seq == 1)
        await a.wait_for(lambda: room.state is RoomState.DRAINING)
        async with yclient(url) as b:
            assert room.state is RoomState.ACTIVE
            assert srv.services.rooms.get(key) is room
            assert "n1" in b.doc.get("nodes", type=Map)
            await asyncio.sleep(1.3)  # past the old grace period: still there
            assert room.state is RoomState.ACTIVE
        assert store.loads[key] == 1


async def test_lifecycle_store_outage_keeps_clients_and_commits_on_recovery() -> None:
    store = CountingStore()
    key = DocKey("p1", DocKind.FLOW, "f1")
    async with live_server(store=store) as srv:
        url = srv.ws_url("projects/p1/flows/f1", token="ann")
        async with yclient(url + "&ext=ack") as a, yclient(url) as b:
            set_node(a.doc, "kept", type="hub")
            await a.flush()
            await b.wait_for(lambda: "kept" in b.doc.get("nodes", type=Map))
            room = srv.services.rooms.get(key)
            assert room is not None
            store.fail_appends = True
            set_node(a.doc, "held", type="hub")
            await a.flush()
            await a.wait_for(lambda: room.commit_failures >= 2)
            assert not srv.services.rooms.healthy
            # Not durable, so not visible: b does not see it, a has no acknowledgement for it.
            assert "held" not in b.doc.get("nodes", type=Map)
            assert a.acks[-1] == 1
            # A joiner during the outage is not answered from uncommitted state.
            late_cm = yclient(url)
            late_task = asyncio.get_running_loop().create_task(late_cm.__aenter__())
            await asyncio.sleep(0.2)
            assert not late_task.done()
            store.fail_appends = False
            await b.wait_for(lambda: "held" in b.doc.get("nodes", type=Map), timeout=10)
            late = await asyncio.wait_for(late_task, 10)
            assert "held" in late.doc.get("nodes", type=Map)
            await late_cm.__aexit__(None, None, None)
            await a.wait_for(lambda: a.acks[-1] == 2)
            assert a.close_code is None and b.close_code is None
            assert srv.services.rooms.healthy
        stored = await store.load(key)
        assert stored is not None and stored.seq == 2


async def test_lifecycle_outage_past_the_pending_bound_closes_writers_1013_keeps_data() -> None:
    store = CountingStore()
    key = DocKey("p1", DocKind.FLOW, "f1")
    env = {"STORYARN_MAX_PENDING_BYTES": "2000", "STORYARN_SHUTDOWN_SECONDS": "5"}
    async with live_server(env, store=store) as srv:
        url = srv.ws_url("projects/p1/flows/f1", token="ann")
        async with yclient(url) as a:
            store.fail_appends = True
            for i in range(40):
                set_node(a.doc, f"n{i}", type="dialogue", text="x" * 100)
                await a.flush()
                if a.close_code is not None:
                    break
            assert await a.wait_closed() == 1013
            sent = {f"n{i}" for i in range(i + 1)}
        store.fail_appends = False
        room = srv.services.rooms.get(key)
        assert room is not None
        await room.flushed()
        assert room.protocol is not None
        in_room = set(room.protocol.doc.get("nodes", type=Map).keys())
        async with yclient(url) as b:
            # Everything the server accepted before closing the writer was committed.
            accepted = set(b.doc.get("nodes", type=Map).keys())
            assert accepted == in_room
            assert accepted <= sent
            assert {f"n{i}" for i in range(10)} <= accepted  # ~2000 bytes' worth
        stored = await store.load(key)
        assert stored is not None
        durable: Doc[Any] = Doc()
        for update in stored.updates:
            durable.apply_update(update)
        assert set(durable.get("nodes", type=Map).keys()) == in_room


async def test_lifecycle_shutdown_commits_then_closes_with_1012() -> None:
    store = CountingStore()
    async with live_server(store=store) as srv:
        a_cm = yclient(srv.ws_url("projects/p1/flows/f1", token="ann"))
        a = await a_cm.__aenter__()
        set_node(a.doc, "n1", type="hub")
        await a.flush()
        srv.server.should_exit = True
        assert await a.wait_closed(timeout=10) == 1012
        await a.close()
    stored = await store.load(DocKey("p1", DocKind.FLOW, "f1"))
    assert stored is not None and stored.seq == 1
