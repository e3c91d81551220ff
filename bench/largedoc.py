"""Large documents (issue 10): does loading, syncing and compacting a 20 MB flow stall the
other rooms of the process?

    uv run python bench/largedoc.py [--mb 20] [--rounds 2] [--snapshot [REV]]

A flow with a heavily fragmented history (texts typed one character at a time at random
places, with deletions: many small structs, the worst case for loading) is written through the
server, which is then restarted so that the document must be loaded from SQLite. While a fresh
client joins it, makes one edit and leaves (the room then unloads and compacts), two clients in
another room exchange an edit every 20 ms and time each delivery. Reported per mode:

- pieces: the default (`STORYARN_SPLIT_ABOVE_BYTES` = 512 KiB): the snapshot is cut into
  pieces in a worker process and applied with the event loop running between them; the
  compaction's snapshot is encoded in that worker too;
- one-shot: the same server with the threshold above the document (the old behaviour): one
  `apply_update` of the whole snapshot, and the snapshot encoded on the event loop.

The figures: time until the joiner holds the document, the other room's delivery latency
(p50, p99, max) during that time, and the server's own event-loop lag histogram (stalls over
20 / 50 / 100 ms, from /metrics). `--postgres URL` runs the server on a throwaway Postgres
database instead of the embedded SQLite file. Hocuspocus has no equivalent here: without a database
extension it keeps documents in memory and never loads one. Everything on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map, Text
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fanout import add_checkout_options, ours_checkout, start_server, stop_server

from crdt import messages

ROOM = "projects/bench/flows/large"
TICK_ROOM = "projects/bench/flows/tick"
MiB = 1024 * 1024

JOINER = r"""
import asyncio, json, sys, time
from websockets.asyncio.client import connect
from pycrdt import Doc, Map
sys.path.insert(0, sys.argv[2])
from crdt import messages

async def main():
    started = time.perf_counter()
    async with connect(sys.argv[1], max_size=None, compression=None) as ws:
        await ws.send(messages.encode_sync_step1(b"\x00"))
        size = 0
        while True:
            frame = await ws.recv()
            if frame[:2] == b"\x00\x01":
                size = len(frame)
                break
        synced = time.perf_counter() - started
        edit = Doc()
        edit.get("nodes", type=Map)["joiner-edit"] = 1
        await ws.send(messages.encode_sync_update(edit.get_update()))
        while True:  # the ack says the edit is committed: the compaction follows it
            frame = await ws.recv()
            if frame[:1] == b"\x64":
                break
        print(json.dumps({"synced_s": synced, "bytes": size}))

asyncio.run(main())
"""


def fragmented_flow(mb: float) -> bytes:
    rng = random.Random(11)
    doc: Doc[Any] = Doc()
    nodes = doc.get("nodes", type=Map)
    n = 0
    while True:
        text = Text()
        nodes[f"n{n}"] = Map({"type": "dialogue", "x": n, "y": 0, "data": Map({"t": text})})
        for i in range(600):
            with doc.transaction():
                text.insert(rng.randint(0, len(text)), "ab"[i % 2])
            if i % 10 == 9:
                with doc.transaction():
                    at = rng.randint(0, len(text) - 2)
                    del text[at : at + 1]
        n += 1
        if n % 50 == 0 and len(doc.get_update()) >= mb * MiB:
            return doc.get_update()


async def seed(port: int, state: bytes) -> None:
    url = f"ws://127.0.0.1:{port}/sync/{ROOM}?token=bench&ext=ack"
    async with connect(url, max_size=None, compression=None) as ws:
        await ws.send(messages.encode_sync_update(state))
        async with asyncio.timeout(120):
            while (await ws.recv())[:1] != b"\x64":
                pass


async def ticker(port: int, stop: asyncio.Event, latencies: list[float]) -> None:
    base = f"ws://127.0.0.1:{port}/sync/{TICK_ROOM}?token="
    async with (
        connect(base + "a", compression=None) as a,
        connect(base + "b", compression=None) as b,
    ):
        sent: dict[int, float] = {}

        async def receive() -> None:
            while True:
                frame = await b.recv()
                if not isinstance(frame, bytes) or frame[:2] != b"\x00\x02":
                    continue
                doc: Doc[Any] = Doc()
                doc.apply_update(frame[2 + _varuint_len(frame, 2) :])
                for key in doc.get("meta", type=Map):
                    at = sent.pop(int(key), None)
                    if at is not None:
                        latencies.append(time.perf_counter() - at)

        reader = asyncio.get_running_loop().create_task(receive())
        doc: Doc[Any] = Doc()
        meta = doc.get("meta", type=Map)
        i = 0
        while not stop.is_set():
            state = doc.get_state()
            meta[str(i)] = i
            sent[i] = time.perf_counter()
            await a.send(messages.encode_sync_update(doc.get_update(state)))
            i += 1
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        reader.cancel()


def _varuint_len(data: bytes, at: int) -> int:
    n = 0
    while data[at + n] & 0x80:
        n += 1
    return n + 1


def lag_counts(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read().decode()
    counts: dict[str, float] = {}
    for line in body.splitlines():
        if line.startswith("storyarn_event_loop_lag_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            counts[le] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("storyarn_event_loop_lag_seconds_count"):
            counts["count"] = float(line.rsplit(" ", 1)[1])
    return counts


def stalls(before: dict[str, float], after: dict[str, float], over: str) -> int:
    total = after["count"] - before["count"]
    within = after[over] - before.get(over, 0.0)
    return int(total - within)


async def run_mode(
    mode: str,
    state: bytes,
    root: Path,
    logs: Path,
    tag: str,
    debug: bool = False,
    postgres: str | None = None,
) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="largedoc-"))
    database = None
    if postgres:
        database = f"largedoc_{uuid.uuid4().hex[:10]}"
        await _admin(postgres, f'CREATE DATABASE "{database}"')
    try:
        return await _run_mode(mode, state, root, logs, tag, data, debug, postgres, database)
    finally:
        if postgres and database:
            await _admin(postgres, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _run_mode(
    mode: str,
    state: bytes,
    root: Path,
    logs: Path,
    tag: str,
    data: Path,
    debug: bool,
    postgres: str | None,
    database: str | None,
) -> dict[str, Any]:
    env = {
        "STORYARN_DATA_DIR": str(data),
        "STORYARN_MAX_FRAME_BYTES": str(64 * MiB),
        "STORYARN_MAX_DOC_BYTES": str(256 * MiB),
        "STORYARN_BYTES_BURST": str(256 * MiB),
        "STORYARN_SEND_QUEUE_BYTES": str(256 * MiB),
        # The joiner's edit leaves one log row; when it leaves, the room unloads and compacts.
        "STORYARN_ROOM_GRACE_SECONDS": "0.5",
        "STORYARN_AUTO_VERSION_QUIET_SECONDS": "0",
        "STORYARN_LOG_LEVEL": "info",  # room_loaded, room_compacted: when each step ended
    }
    if mode == "one-shot":
        env["STORYARN_SPLIT_ABOVE_BYTES"] = str(1024 * MiB)
    if postgres and database:
        env["DATABASE_URL"] = postgres.rsplit("/", 1)[0] + f"/{database}"
    if debug:  # asyncio names every callback that holds the loop for more than 100 ms
        env["PYTHONASYNCIODEBUG"] = "1"
    server = start_server("ours", logs, f"{tag}-{mode}-seed", root, env)
    try:
        await seed(server.port, state)
    finally:
        stop_server(server)  # SIGTERM: the final snapshot holds the whole document
    server = start_server("ours", logs, f"{tag}-{mode}", root, env)
    try:
        stop = asyncio.Event()
        latencies: list[float] = []
        tick = asyncio.get_running_loop().create_task(ticker(server.port, stop, latencies))
        await asyncio.sleep(1.0)
        latencies.clear()
        before = lag_counts(server.port)
        url = f"ws://127.0.0.1:{server.port}/sync/{ROOM}?token=joiner&ext=ack"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", JOINER, url, str(root), stdout=subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
        await asyncio.sleep(4.0)  # the unload and its compaction, after the joiner left
        stop.set()
        await tick
        after = lag_counts(server.port)
        joined = json.loads(out.decode().strip().splitlines()[-1])
    finally:
        stop_server(server)
    ordered = sorted(latencies)
    return {
        "mode": mode,
        "synced_s": round(joined["synced_s"], 2),
        "step2_bytes": joined["bytes"],
        "tick_p50_ms": round(statistics.median(ordered) * 1000, 1),
        "tick_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
        "tick_max_ms": round(ordered[-1] * 1000, 1),
        "stalls_over_20ms": stalls(before, after, "0.02"),
        "stalls_over_50ms": stalls(before, after, "0.05"),
        "stalls_over_100ms": stalls(before, after, "0.1"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--modes", default="pieces,one-shot")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="run on Postgres (a throwaway database beside URL's) instead of SQLite, "
        "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument("--debug-env", action="store_true", help="asyncio debug in the server")
    add_checkout_options(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    state = fragmented_flow(args.mb)
    print(f"document: {len(state) / MiB:.1f} MiB, built in {time.perf_counter() - started:.0f} s")
    logs = Path(tempfile.mkdtemp(prefix="largedoc-logs-"))
    with ours_checkout(args) as root:
        for round_no in range(args.rounds):
            for mode in args.modes.split(","):
                r = await run_mode(
                    mode, state, root, logs, f"r{round_no}", args.debug_env, args.postgres
                )
                print(f"round {round_no} " + "  ".join(f"{k} {v}" for k, v in r.items()))
    print(f"server logs: {logs}")


if __name__ == "__main__":
    asyncio.run(main())
