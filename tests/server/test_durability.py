"""Durability through the room: compaction, cold loads, shutdown snapshots."""

from pathlib import Path
from typing import Any

from pycrdt import Doc, Map

from crdt.schema import DocKey, DocKind
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate
from tests.server.conftest import set_node
from tests.support.live_server import live_server
from tests.support.yclient import yclient

ROOM = "projects/p1/flows/f1"
KEY = DocKey("p1", DocKind.FLOW, "f1")


async def test_durability_room_compacts_when_the_log_passes_its_bound(tmp_path: Path) -> None:
    env = {"STORYARN_COMPACT_ROWS": "10", "STORYARN_DATA_DIR": str(tmp_path)}
    async with live_server(env) as srv, yclient(srv.ws_url(ROOM, token="a", ext="ack")) as a:
        for i in range(25):
            set_node(a.doc, f"n{i}", type="hub")
            await a.flush_acked()
        room = srv.services.rooms.get(KEY)
        assert room is not None
        await a.wait_for(lambda: room.snapshot_seq >= 15)  # compacts at 75-100 % of the bound
        stored = await srv.services.store.load(KEY)
        assert stored is not None
        assert stored.seq == 25
        assert stored.log_rows < 10  # folded into the snapshot
        doc: Doc[Any] = Doc()
        for update in stored.updates:
            doc.apply_update(update)
        assert set(doc.get("nodes", type=Map).keys()) == {f"n{i}" for i in range(25)}


async def test_durability_cold_load_of_ten_thousand_updates(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path))
    await upgrade(engine)
    store = SqlDocumentStore(engine)
    source: Doc[Any] = Doc()
    source["nodes"] = nodes = Map()
    updates: list[bytes] = []
    source.observe(lambda event: updates.append(event.update))
    for i in range(10_000):
        nodes[f"n{i % 700}"] = i  # overwrites too: history longer than the content
    for start in range(0, len(updates), 1000):
        batch = updates[start : start + 1000]
        await store.append(KEY, [PendingUpdate(u, "a", "conn:16") for u in batch])
    await engine.dispose()
    env = {"STORYARN_DATA_DIR": str(tmp_path)}
    async with live_server(env) as srv, yclient(srv.ws_url(ROOM, token="b")) as b:
        assert b.doc.get("nodes", type=Map).to_py() == nodes.to_py()
        room = srv.services.rooms.get(KEY)
        assert room is not None and room.committed_seq == len(updates)


async def test_durability_shutdown_writes_a_snapshot(tmp_path: Path) -> None:
    env = {"STORYARN_DATA_DIR": str(tmp_path)}
    async with live_server(env) as srv, yclient(srv.ws_url(ROOM, token="a", ext="ack")) as a:
        for i in range(5):
            set_node(a.doc, f"n{i}", type="hub")
            await a.flush_acked()
        srv.server.should_exit = True
        assert await a.wait_closed(timeout=10) == 1012
    engine = create_engine(sqlite_url(tmp_path))
    stored = await SqlDocumentStore(engine).load(KEY)
    await engine.dispose()
    assert stored is not None
    assert (stored.seq, stored.log_rows, len(stored.updates)) == (5, 0, 1)
