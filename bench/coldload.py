"""Cold load and compaction costs of a 1,000-node flow, on SQLite and Postgres.

    uv run python bench/coldload.py [--postgres URL] [--repeat 7]

Prints, per backend: the time to load a document and rebuild its Doc (what a room does before
serving anyone) from a compacted log (one snapshot) and from 10,000 uncompacted updates; and the
event-loop time compaction takes (encoding the Doc; the database write runs in the driver).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map, Text
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from crdt.schema import DocKey, DocKind
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate


def flow_updates(nodes: int, edits: int) -> tuple[list[bytes], Doc[Any]]:
    """A 1,000-node flow built by many small updates (each its own transaction)."""
    doc: Doc[Any] = Doc()
    doc["nodes"] = root = Map()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for i in range(nodes):
        root[f"n{i}"] = Map(
            {"type": "dialogue", "x": float(i), "y": 0.0, "data": Map({"text": Text("x" * 200)})}
        )
    i = 0
    while len(updates) < edits:
        root[f"n{i % nodes}"]["x"] = float(i)
        i += 1
    return updates[:edits], doc


async def load_ms(store: SqlDocumentStore, key: DocKey) -> float:
    start = time.perf_counter()
    stored = await store.load(key)
    doc: Doc[Any] = Doc()
    for update in stored.updates if stored else []:
        doc.apply_update(update)
    return (time.perf_counter() - start) * 1000


async def run(url: str, label: str, repeat: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    store = SqlDocumentStore(engine)
    updates, doc = flow_updates(1000, 10_000)
    project = f"bench-{uuid.uuid4().hex[:8]}"
    log_key = DocKey(project, DocKind.FLOW, "log")
    snap_key = DocKey(project, DocKind.FLOW, "snap")
    for start in range(0, len(updates), 1000):
        batch = [PendingUpdate(u, "bench", "conn:16") for u in updates[start : start + 1000]]
        await store.append(log_key, batch)
        await store.append(snap_key, batch)
    encode = []
    for _ in range(repeat):
        t = time.perf_counter()
        state = doc.get_update()
        encode.append((time.perf_counter() - t) * 1000)
    await store.write_snapshot(snap_key, state, len(updates))
    compacted = [await load_ms(store, snap_key) for _ in range(repeat)]
    uncompacted = [await load_ms(store, log_key) for _ in range(repeat)]
    print(
        f"{label:9} state {len(state) / 1024:6.0f} KiB | cold load compacted "
        f"p50 {statistics.median(compacted):6.1f} ms (max {max(compacted):6.1f}) | "
        f"10,000 updates p50 {statistics.median(uncompacted):6.1f} ms "
        f"(max {max(uncompacted):6.1f}) | compaction encode on loop "
        f"p50 {statistics.median(encode):4.1f} ms (max {max(encode):4.1f})"
    )
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="an admin URL: the bench makes a database of its own beside it and drops it",
    )
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(sqlite_url(Path(tmp)), "sqlite", args.repeat)
    name = f"storyarn_bench_{uuid.uuid4().hex[:10]}"
    await _admin(args.postgres, f'CREATE DATABASE "{name}"')
    try:
        await run(args.postgres.rsplit("/", 1)[0] + f"/{name}", "postgres", args.repeat)
    finally:
        await _admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
