"""A document large enough to be loaded in pieces and compacted in the worker process."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import sys
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map, Text

from crdt.schema import DocKey, DocKind
from persistence.engine import create_engine, sqlite_url
from persistence.projection_queries import ProjectionQueries
from persistence.store import PendingUpdate
from server.doc_loading import SPLIT_ABOVE_BYTES
from tests.support.live_server import free_port, live_server
from tests.support.yclient import yclient

KEY = DocKey("p1", DocKind.FLOW, "big")


def _fragmented_flow(nodes: int, edits: int) -> Doc[Any]:
    """Texts typed one character at a time at random places: many small structs."""
    rng = random.Random(7)
    doc: Doc[Any] = Doc()
    root = doc.get("nodes", type=Map)
    for n in range(nodes):
        text = Text()
        root[f"n{n}"] = Map({"type": "dialogue", "x": n, "y": 0, "data": Map({"t": text})})
        for i in range(edits):
            with doc.transaction():
                text.insert(rng.randint(0, len(text)), "ab"[i % 2])
    return doc


async def test_a_large_document_loads_in_pieces_and_compacts_off_the_loop(tmp_path: Path) -> None:
    source = _fragmented_flow(nodes=150, edits=500)
    state = source.get_update()
    assert len(state) > 2 * SPLIT_ABOVE_BYTES  # the piecewise path, not the one-shot one
    env = {
        "STORYARN_ENV": "development",
        "STORYARN_DATA_DIR": str(tmp_path),
        "STORYARN_COMPACT_ROWS": "2",
    }
    async with live_server(env) as srv:
        store = srv.services.store
        await store.create(KEY)
        seq = await store.append(KEY, [PendingUpdate(state, None, "server")])
        await store.write_snapshot(KEY, state, seq)
        url = srv.ws_url(KEY.name, token="ann", ext="ack")
        async with yclient(url, max_size=None) as ann:
            nodes = ann.doc.get("nodes", type=Map)
            await ann.wait_for(lambda: len(nodes) == 150, timeout=30)
            expected = source.get("nodes", type=Map).to_py()
            assert nodes.to_py() == expected
            # Two edits pass the compaction threshold; the snapshot is encoded in the worker.
            for n in range(2):
                with ann.doc.transaction():
                    nodes[f"new{n}"] = Map({"type": "hub", "x": n, "y": 0, "data": Map()})
                await ann.flush_acked()
            room = srv.services.rooms.get(KEY)
            assert room is not None
            await ann.wait_for(lambda: room.snapshot_seq >= seq + 2, timeout=30)
            # A fresh joiner of a large document gets the state the worker process encoded.
            async with yclient(url, max_size=None) as bob:
                held_by_bob = bob.doc.get("nodes", type=Map)
                await bob.wait_for(lambda: len(held_by_bob) == 152, timeout=30)
            # Projected in the worker process too (a thread would hold the GIL while Yrs decodes).
            projector = srv.services.projector
            assert projector is not None
            async with asyncio.timeout(30):
                await projector.drained()
            engine = create_engine(sqlite_url(tmp_path))
            try:
                queries = ProjectionQueries(engine)
                assert await queries.projected_seq("p1", "flows", "big") == seq + 2
                page = await queries.flow_nodes("p1", "big", limit=500)
                assert page is not None
                assert len(page.items) == 152
            finally:
                await engine.dispose()
        stored = await store.load(KEY)
        assert stored is not None
        assert stored.seq == seq + 2
        assert stored.log_rows == 0  # the snapshot holds everything
        assert len(stored.updates) > 2  # stored in pieces: the next load needs no cut
        rebuilt: Doc[Any] = Doc()
        for update in stored.updates:
            rebuilt.apply_update(update)
        held = rebuilt.get("nodes", type=Map).to_py()
        assert set(held) == set(expected) | {"new0", "new1"}
        assert all(held[k] == v for k, v in expected.items())
    # The worker process went with the server: none is left behind.
    assert multiprocessing.active_children() == []


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


async def test_the_worker_process_does_not_outlive_a_killed_server(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "STORYARN_ENV": "development",
        "STORYARN_DATA_DIR": str(tmp_path),
        "STORYARN_SPLIT_ABOVE_BYTES": "1024",  # any document of a few KiB is large here
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"ws://127.0.0.1:{port}/sync/{KEY.name}?token=ann&ext=ack"
        async with asyncio.timeout(20):
            while True:
                try:
                    async with yclient(url) as ann:
                        nodes = ann.doc.get("nodes", type=Map)
                        with ann.doc.transaction():
                            for n in range(200):
                                nodes[f"n{n}"] = Map({"type": "hub", "x": n, "y": 0})
                        await ann.flush_acked()
                    break
                except OSError:
                    await asyncio.sleep(0.2)
        # A fresh joiner of a document this "large" gets a state the worker encodes.
        async with yclient(url) as bob:
            assert len(bob.doc.get("nodes", type=Map)) == 200
        workers = _children(server.pid)
        assert workers, "the server started no worker process"
    finally:
        server.kill()  # SIGKILL: no shutdown, no chance to stop the worker
        await server.wait()
    async with asyncio.timeout(10):
        while any(_alive(pid) for pid in workers):
            await asyncio.sleep(0.2)
