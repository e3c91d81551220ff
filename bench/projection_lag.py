"""Projection lag: from a client's edit of a 1,000-node flow to the edit in the tables.

    uv run python bench/projection_lag.py [--postgres URL] [--edits 20] [--debounce 0.25]

Starts `storyarn serve` (development mode) on a fresh SQLite file, then on a throwaway Postgres
database, builds a flow of 1,000 nodes (400 dialogue lines with text and a response, a project
with 3 locales: about 2,400 localized rows) with a pycrdt y-websocket client, and then makes
`--edits` edits one after the other, each moving a node and rewording its line. For each edit
it reports the time from sending the update to (a) the durable acknowledgement and (b) the
moment a separate database connection sees the new x and the new text in `flow_nodes` and
`localized_texts`. The projector's debounce (STORYARN_PROJECTION_DEBOUNCE_SECONDS) is part of
the lag by design; the run at debounce 0 shows the cost of the projection itself. First, in
this process, it times the three parts of one projection of that flow: loading the committed
state, computing the rows (in a thread, as the projector does) and writing the changed rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pycrdt import Doc
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crdt.schema import DocKey, DocKind
from crdt.views import add_node, create_item, move_node, set_locale, update_node_data
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.projection import ProjectContext
from persistence.projection_runner import compute
from persistence.projection_tables import flow_nodes, localized_texts
from persistence.projection_writer import ProjectionWriter
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate
from tests.support.live_server import free_port
from tests.support.yclient import yclient

NODES = 1000


async def _wait_http(port: int, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError("the server exited")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the server did not start")


async def _visible(engine: AsyncEngine, node: str, x: float, line: str) -> None:
    x_query = select(flow_nodes.c.x).where(flow_nodes.c.flow_id == "f1", flow_nodes.c.id == node)
    text_query = select(localized_texts.c.source_text).where(
        localized_texts.c.source_id == node,
        localized_texts.c.source_field == "text",
        localized_texts.c.locale_code == "en",
    )
    while True:
        async with engine.connect() as conn:
            got_x = (await conn.execute(x_query)).scalar_one_or_none()
            got_text = (await conn.execute(text_query)).scalar_one_or_none()
        if got_x == x and got_text == line:
            return
        await asyncio.sleep(0.003)


async def run(label: str, env: dict[str, str], url: str, edits: int) -> dict[str, Any]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(port),
        env={**os.environ, "STORYARN_ENV": "development", "STORYARN_LOG_LEVEL": "warning", **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    engine = create_engine(url)
    try:
        await _wait_http(port, proc)
        base = f"ws://127.0.0.1:{port}/sync/projects/bench"
        async with (
            yclient(f"{base}/tree?token=bench&ext=ack") as tree,
            yclient(f"{base}/flows/f1?token=bench&ext=ack") as flow,
        ):
            create_item(tree.doc, DocKind.FLOW, "f1", "Big flow")
            for code, is_source in (("en", True), ("es", False), ("fr", False)):
                set_locale(tree.doc, code, code, is_source=is_source)
            await tree.flush_acked()
            flow.doc.apply_update(_big_flow().get_update())
            await flow.flush_acked(timeout=60)
            await asyncio.wait_for(_visible(engine, "n0001", 1.0, "Line 1"), 60)
            acked: list[float] = []
            lags: list[float] = []
            for edit in range(edits):
                node = f"n{(edit * 10 + 1):04d}"
                x, line = 10_000.0 + edit, f"Edited line {edit}"
                started = time.perf_counter()
                with flow.doc.transaction():
                    move_node(flow.doc, node, x, 0)
                    update_node_data(flow.doc, node, text=f"<p>{line}</p>")
                await flow.flush_acked()
                acked.append((time.perf_counter() - started) * 1000)
                await asyncio.wait_for(_visible(engine, node, x, line), 30)
                lags.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.1)
    finally:
        proc.terminate()
        await proc.wait()
        await engine.dispose()
    result = {
        "backend": label,
        "debounce": env.get("STORYARN_PROJECTION_DEBOUNCE_SECONDS", "0.25"),
        "ack_p50": statistics.median(acked),
        "lag_p50": statistics.median(lags),
        "lag_p95": statistics.quantiles(lags, n=20)[-1],
        "lag_max": max(lags),
    }
    print(
        f"{label:8} debounce {result['debounce']:>5} s  ack p50 {result['ack_p50']:6.1f} ms  "
        f"projected p50 {result['lag_p50']:6.1f} ms  p95 {result['lag_p95']:6.1f} ms  "
        f"max {result['lag_max']:6.1f} ms",
        flush=True,
    )
    return result


def _big_flow() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    with doc.transaction():
        add_node(doc, "n0000", "entry", 0, 0)
        for i in range(1, NODES):
            if i % 5 in (1, 3):
                add_node(doc, f"n{i:04d}", "dialogue", i, 0, text=f"<p>Line {i}</p>")
            else:
                add_node(doc, f"n{i:04d}", "hub", i, 0)
    return doc


async def components(label: str, url: str, edits: int) -> None:
    """Where one projection's time goes, in this process: load, compute (thread), write."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        doc = _big_flow()
        key = DocKey(f"bench{uuid.uuid4().hex[:6]}", DocKind.FLOW, "f1")
        store = SqlDocumentStore(engine)
        updates: list[bytes] = []
        doc.observe(lambda event: updates.append(event.update))
        await store.append(key, [PendingUpdate(doc.get_update(), None, "server")])
        context = ProjectContext(seq=1, source_locale="en", target_locales=("es", "fr"))
        writer = ProjectionWriter(engine)
        document_id = await writer.document_id(key)
        assert document_id is not None
        timings: dict[str, list[float]] = {"load": [], "compute": [], "write": []}
        for edit in range(edits + 2):
            node = f"n{(edit * 10 + 1):04d}"
            with doc.transaction():
                move_node(doc, node, 10_000.0 + edit, 0)
                update_node_data(doc, node, text=f"<p>Edited line {edit}</p>")
            seq = await store.append(key, [PendingUpdate(updates.pop(), None, "server")])
            t0 = time.perf_counter()
            stored = await store.load(key)
            assert stored is not None
            t1 = time.perf_counter()
            projection = await asyncio.to_thread(compute, key, stored.updates, context)
            t2 = time.perf_counter()
            await writer.write(key, document_id, seq, projection)
            t3 = time.perf_counter()
            if edit >= 2:  # the first writes fill the tables
                for name, spent in (("load", t1 - t0), ("compute", t2 - t1), ("write", t3 - t2)):
                    timings[name].append(spent * 1000)
        parts = "  ".join(f"{n} {statistics.median(v):5.1f} ms" for n, v in timings.items())
        print(f"{label:8} one projection, medians of {edits}: {parts}", flush=True)
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--debounce", type=float, default=0.25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storyarn-lag-") as data_dir:
        await components("sqlite", sqlite_url(Path(data_dir)), args.edits)
    await _with_postgres(args.postgres, lambda url: components("postgres", url, args.edits))
    for debounce in (args.debounce, 0.0):
        knob = {"STORYARN_PROJECTION_DEBOUNCE_SECONDS": str(debounce)}
        with tempfile.TemporaryDirectory(prefix="storyarn-lag-") as data_dir:
            env = {"STORYARN_DATA_DIR": data_dir, **knob}
            await run("sqlite", env, sqlite_url(Path(data_dir)), args.edits)

        async def on_postgres(url: str, knob: dict[str, str] = knob) -> None:
            with tempfile.TemporaryDirectory(prefix="storyarn-lag-") as data_dir:
                env = {"STORYARN_DATA_DIR": data_dir, "DATABASE_URL": url, **knob}
                await run("postgres", env, url, args.edits)

        await _with_postgres(args.postgres, on_postgres)


async def _with_postgres(admin_url: str, body: Callable[[str], Awaitable[None]]) -> None:
    """Run `body` on a throwaway database beside the one `admin_url` names, then drop it."""
    name = f"storyarn_lag_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        await body(admin_url.rsplit("/", 1)[0] + f"/{name}")
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
