"""The Node write storm (js/storm.mjs) driven from pytest, and reading what became durable."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from pycrdt import Doc, Map

from crdt.schema import DocKey, DocKind
from persistence.engine import create_engine
from persistence.sql_store import SqlDocumentStore
from tests.e2e.harness import JS_DIR, doc_json

ROOM = "projects/crash/flows/f1"
KEY = DocKey("crash", DocKind.FLOW, "f1")


class Storm:
    """The Node storm process and everything its clients said they received."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.received: set[str] = set()
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            message = json.loads(line)
            if "received" in message:
                self.received.add(message["received"])
            else:
                await self.replies.put(message)

    async def command(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        return await asyncio.wait_for(self.replies.get(), 10)

    async def close(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"exit\n")
            with contextlib.suppress(ConnectionError):
                await self.proc.stdin.drain()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


@contextlib.asynccontextmanager
async def storm(
    ports: int | list[int],
    clients: int = 4,
    *,
    rich: bool = False,
    room: str = ROOM,
    failover: bool = False,
) -> AsyncIterator[Storm]:
    servers = ",".join(
        f"ws://127.0.0.1:{p}/sync" for p in ([ports] if isinstance(ports, int) else ports)
    )
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS_DIR / "storm.mjs"),
        "--server",
        servers,
        "--room",
        room,
        "--clients",
        str(clients),
        "--interval",
        "20",
        *(["--rich"] if rich else []),
        *(["--failover"] if failover else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=64 * 1024 * 1024,  # a "state" answer carries every client's document
        stderr=asyncio.subprocess.DEVNULL,
    )
    s = Storm(proc)
    try:
        assert (await asyncio.wait_for(s.replies.get(), 10)) == {"started": clients}
        yield s
    finally:
        await s.close()


async def durable_doc(url: str, key: DocKey = KEY) -> Doc[Any]:
    engine = create_engine(url)
    try:
        stored = await SqlDocumentStore(engine).load(key)
    finally:
        await engine.dispose()
    doc: Doc[Any] = Doc()
    for update in stored.updates if stored else []:
        doc.apply_update(update)
    return doc


async def durable_keys(url: str, key: DocKey = KEY) -> set[str]:
    return set((await durable_doc(url, key)).get("nodes", type=Map).keys())


async def converge(s: Storm, url: str) -> set[str]:
    """Stop writing, then wait until every client holds exactly the durable document."""
    await s.command("stop")
    last: str = "no answer"
    try:
        async with asyncio.timeout(30):
            while True:
                state = await s.command("state")
                doc = await durable_doc(url)
                durable = set(doc.get("nodes", type=Map).keys())
                # Compared parsed: Yrs re-encodes plain objects with its own key order.
                docs = [json.loads(text) for text in state["docs"]]
                same_docs = all(d == docs[0] for d in docs)
                if (
                    all(state["synced"])
                    and all(set(keys) == durable for keys in state["states"])
                    # identical documents, text and XML included, and the database's own
                    and same_docs
                    and docs[0] == doc_json(doc, DocKind.FLOW)
                ):
                    return durable
                last = (
                    f"synced={state['synced']} keys={[len(k) for k in state['states']]} "
                    f"durable={len(durable)} missing_from_db="
                    f"{sorted(set().union(*map(set, state['states'])) - durable)[:10]} "
                    f"same_docs={same_docs}"
                )
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"no convergence within 30 s: {last}") from None
