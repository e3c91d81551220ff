"""What one commit to the SQL store costs: thread hops, latency, commits a second.

    uv run python bench/commit_probe.py [--rooms 50] [--n 300]

Appends one small update at a time to a fresh SQLite file through `SqlDocumentStore`, on an
otherwise idle event loop: sequentially, then from ROOMS rooms at once (as ROOMS rooms with one
writer each do), then in batches of 64. Counts the round trips to aiosqlite's worker thread.
See docs/performance.md (hot spots).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiosqlite.core

from crdt.schema import DocKey, DocKind
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate

_hops = [0]  # round trips to aiosqlite's worker thread
_original_execute = aiosqlite.core.Connection._execute


async def _counting_execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    _hops[0] += 1
    return await _original_execute(self, fn, *args, **kwargs)


async def probe(rooms: int, n: int) -> None:
    aiosqlite.core.Connection._execute = _counting_execute  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(sqlite_url(Path(tmp)))
        await upgrade(engine)
        store = SqlDocumentStore(engine)
        keys = [DocKey("bench", DocKind.FLOW, f"r{i}") for i in range(rooms)]
        for key in keys:
            await store.create(key)
        update = PendingUpdate(b"\x01\x01\x02\x00" + b"x" * 40, "bench", "conn:16")

        _hops[0], times = 0, []
        for i in range(n):
            start = time.perf_counter()
            await store.append(keys[i % rooms], [update])
            times.append(time.perf_counter() - start)
        times.sort()
        print(
            f"sequential: {_hops[0] / n:.1f} thread hops per append, "
            f"median {1e3 * statistics.median(times):.2f} ms, "
            f"p99 {1e3 * times[int(0.99 * n) - 1]:.2f} ms, {n / sum(times):.0f} commits/s"
        )

        _hops[0], rounds = 0, max(1, n // rooms)
        start = time.perf_counter()
        for _ in range(rounds):
            await asyncio.gather(*(store.append(key, [update]) for key in keys))
        elapsed = time.perf_counter() - start
        print(
            f"{rooms} rooms at once: {rooms * rounds / elapsed:.0f} commits/s; "
            f"the last room of each round waits {1e3 * elapsed / rounds:.0f} ms"
        )

        start = time.perf_counter()
        for _ in range(50):
            await store.append(keys[0], [update] * 64)
        print(f"batches of 64 updates: {1e3 * (time.perf_counter() - start) / 50:.2f} ms each")
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--n", type=int, default=300)
    opts = parser.parse_args()
    asyncio.run(probe(opts.rooms, opts.n))


if __name__ == "__main__":
    main()
