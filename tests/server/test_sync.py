import asyncio
from typing import Any

from pycrdt import Doc, Map

from crdt.messages import encode_sync_update
from crdt.schema import DocKey, DocKind
from tests.server.conftest import set_node
from tests.support.live_server import live_server
from tests.support.yclient import yclient

ROOM = "projects/p1/flows/f1"
KEY = DocKey("p1", DocKind.FLOW, "f1")


async def test_sync_two_clients_converge_both_ways() -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url(ROOM, token="ann")) as a,
        yclient(srv.ws_url(ROOM, token="bob")) as b,
    ):
        set_node(a.doc, "n1", type="hub")
        await a.flush()
        await b.wait_for(lambda: "n1" in b.doc.get("nodes", type=Map))
        set_node(b.doc, "n2", type="jump")
        await b.flush()
        await a.wait_for(lambda: "n2" in a.doc.get("nodes", type=Map))
        assert a.doc.get_state() == b.doc.get_state()


async def test_sync_update_is_not_echoed_to_its_sender() -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url(ROOM, token="ann")) as a,
        yclient(srv.ws_url(ROOM, token="bob")) as b,
    ):
        before = a.frames_received
        set_node(a.doc, "n1", type="hub")
        await a.flush()
        await b.wait_for(lambda: "n1" in b.doc.get("nodes", type=Map))
        # b's own edit travels back to a; a's never does: a has seen exactly one new frame.
        set_node(b.doc, "n2", type="hub")
        await b.flush()
        await a.wait_for(lambda: "n2" in a.doc.get("nodes", type=Map))
        assert a.frames_received == before + 1


async def test_sync_late_joiner_receives_full_state() -> None:
    async with live_server() as srv, yclient(srv.ws_url(ROOM, token="ann")) as a:
        for i in range(20):
            set_node(a.doc, f"n{i}", type="dialogue", x=float(i))
        await a.flush()
        await a.wait_for(lambda: srv.services.rooms.get(KEY) is not None)
        room = srv.services.rooms.get(KEY)
        assert room is not None
        await room.flushed()
        async with yclient(srv.ws_url(ROOM, token="cat")) as c:
            assert len(c.doc.get("nodes", type=Map)) == 20


async def test_sync_server_edit_reaches_clients() -> None:
    async with live_server() as srv, yclient(srv.ws_url(ROOM, token="ann")) as a:
        async with srv.services.rooms.server_edit(KEY) as doc:
            set_node(doc, "srv", type="entry")
        await a.wait_for(lambda: "srv" in a.doc.get("nodes", type=Map))


async def test_sync_ack_only_for_clients_that_opted_in() -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url(ROOM, token="ann", ext="ack")) as a,
        yclient(srv.ws_url(ROOM, token="bob")) as b,
    ):
        set_node(a.doc, "n1", type="hub")
        await a.flush()
        # The sync answer (step 2) is acknowledged too: "all you sent is safe", at seq 0 here.
        await a.wait_for(lambda: a.acks[-1:] == [1])
        assert a.acks == [0, 1]
        set_node(b.doc, "n2", type="hub")
        await b.flush()
        await a.wait_for(lambda: "n2" in a.doc.get("nodes", type=Map))
        await asyncio.sleep(0.05)
        assert b.acks == []
        assert b.unknown_types == []
        assert a.acks == [0, 1]  # b's update is not a's to acknowledge


async def test_sync_rooms_are_isolated() -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url(ROOM, token="ann")) as a,
        yclient(srv.ws_url("projects/p1/flows/f2", token="bob")) as b,
        yclient(srv.ws_url("projects/p2/flows/f1", token="cat")) as c,
    ):
        set_node(a.doc, "n1", type="hub")
        await a.flush()
        room = srv.services.rooms.get(KEY)
        assert room is not None
        await a.wait_for(lambda: room.committed_seq == 1)
        await asyncio.sleep(0.05)
        assert "nodes" not in b.doc.keys()
        assert "nodes" not in c.doc.keys()


async def test_sync_step2_waits_for_commit_of_what_it_contains() -> None:
    # A joiner's step-2 answer is computed from the Doc only when the Doc holds nothing
    # uncommitted: everything it receives is already in the store.
    async with live_server() as srv, yclient(srv.ws_url(ROOM, token="ann")) as a:
        store = srv.services.store
        for i in range(50):
            set_node(a.doc, f"n{i}", type="hub")
            await a.flush()
            if i == 25:
                async with yclient(srv.ws_url(ROOM, token="late")) as late:
                    stored = await store.load(KEY)
                    assert stored is not None
                    durable: Doc[Any] = Doc()
                    for update in stored.updates:
                        durable.apply_update(update)
                    seen = set(late.doc.get("nodes", type=Map).keys())
                    assert seen <= set(durable.get("nodes", type=Map).keys())


async def test_sync_tree_and_page_rooms_accept_their_roots() -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url("projects/p1/tree", token="ann")) as tree,
        yclient(srv.ws_url("projects/p1/pages/pg1", token="ann")) as page,
    ):
        tree.doc["pages"] = Map({"pg1": Map({"name": "Hero"})})
        await tree.flush()
        page.doc["blocks"] = Map({"b1": Map({"type": "text"})})
        await page.flush()
        tree_key = DocKey("p1", DocKind.TREE)
        await tree.wait_for(
            lambda: (r := srv.services.rooms.get(tree_key)) is not None and r.committed_seq == 1
        )
        assert tree.close_code is None and page.close_code is None


async def test_sync_raw_update_frame_from_python_reaches_peer() -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url(ROOM, token="ann")) as a,
        yclient(srv.ws_url(ROOM, token="bob")) as b,
    ):
        other: Doc[Any] = Doc()
        other["connections"] = Map({"c1": Map({"sourceNodeId": "n1"})})
        await a.send_raw(encode_sync_update(other.get_update()))
        await b.wait_for(lambda: "c1" in b.doc.get("connections", type=Map))
