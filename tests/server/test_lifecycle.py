import asyncio
import contextlib

from pycrdt import Map

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


async def test_lifecycle_failed_commit_closes_clients_1013_and_reloads_durable_state() -> None:
    store = CountingStore()
    key = DocKey("p1", DocKind.FLOW, "f1")
    async with live_server(store=store) as srv:
        url = srv.ws_url("projects/p1/flows/f1", token="ann")
        async with yclient(url) as a, yclient(url) as b:
            set_node(a.doc, "kept", type="hub")
            await a.flush()
            await b.wait_for(lambda: "kept" in b.doc.get("nodes", type=Map))
            store.fail_appends = True
            set_node(a.doc, "lost", type="hub")
            await a.flush()
            assert await a.wait_closed() == 1013
            assert await b.wait_closed() == 1013
            # b never saw the change that was not durable.
            assert "lost" not in b.doc.get("nodes", type=Map)
        store.fail_appends = False
        assert srv.services.rooms.get(key) is None
        async with yclient(url) as c:
            nodes = c.doc.get("nodes", type=Map)
            assert "kept" in nodes and "lost" not in nodes


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
