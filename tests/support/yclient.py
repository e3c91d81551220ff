"""A small y-websocket client on pycrdt and `websockets`, for server tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from pycrdt import Doc
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from crdt.awareness import parse_update
from crdt.encoding import Reader
from crdt.messages import (
    MessageType,
    SyncType,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
)


class YClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.doc: Doc[Any] = Doc()
        self.synced = asyncio.Event()
        self.acks: list[int] = []
        self.awareness: dict[int, str] = {}
        self.frames_received = 0
        self.unknown_types: list[int] = []
        self._pending_local: list[bytes] = []
        self._subscription = self.doc.observe(self._local_change)
        self._applying_remote = False
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    def _local_change(self, event: Any) -> None:
        if not self._applying_remote:
            self._pending_local.append(event.update)

    async def flush(self) -> None:
        """Send every local change made since the last flush, one update each."""
        pending, self._pending_local = self._pending_local, []
        for update in pending:
            await self.ws.send(encode_sync_update(update))

    async def flush_acked(self, timeout: float = 10.0) -> None:
        """Flush, then wait for the server's durable acknowledgement (needs ?ext=ack)."""
        before = len(self.acks)
        had_changes = bool(self._pending_local)
        await self.flush()
        if had_changes:
            await self.wait_for(lambda: len(self.acks) > before, timeout)

    async def send_raw(self, frame: bytes | str) -> None:
        await self.ws.send(frame)

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                if isinstance(frame, str):
                    continue
                self.frames_received += 1
                await self._handle(frame)
        except ConnectionClosed:
            pass

    async def _handle(self, frame: bytes) -> None:
        reader = Reader(frame)
        kind = reader.varuint()
        if kind == MessageType.SYNC:
            sub = reader.varuint()
            payload = reader.varbytes()
            if sub == SyncType.STEP1:
                await self.ws.send(encode_sync_step2(self.doc.get_update(payload)))
                await self.ws.send(encode_sync_step1(self.doc.get_state()))
            else:
                self._apply_remote(payload)
                if sub == SyncType.STEP2:
                    self.synced.set()
        elif kind == MessageType.AWARENESS:
            for entry in parse_update(reader.varbytes()):
                if entry.state == "null":
                    self.awareness.pop(entry.client_id, None)
                else:
                    self.awareness[entry.client_id] = entry.state
        elif kind == MessageType.ACK:
            self.acks.append(reader.varuint())
        else:
            self.unknown_types.append(kind)

    def _apply_remote(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.005)

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        async with asyncio.timeout(timeout):
            await self.ws.wait_closed()
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def yclient(
    url: str, *, sync: bool = True, max_size: int | None = None
) -> AsyncIterator[YClient]:
    async with connect(url, max_size=max_size, compression=None) as ws:
        client = YClient(ws)
        if sync:
            async with asyncio.timeout(5):
                await client.synced.wait()
        try:
            yield client
        finally:
            await client.close()
