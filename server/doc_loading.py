"""Build a room's Doc from stored updates without holding the event loop for long.

Yrs applies an update in one call that holds the GIL: a 20 MB snapshot of a heavily edited
flow takes 300-400 ms here, and every other room of the process waits that long. So a large
update is first cut into pieces that apply in order (`crdt.update_split`), in a worker process
because the cut is pure Python over every struct, and the pieces are applied with the event
loop running between them. Log rows are small; they go in slices of a few milliseconds.

The same pool encodes large snapshots for compaction: `encode_state` rebuilds the state from the
stored updates in the worker, so the room never encodes a large Doc on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import structlog
from pycrdt import Doc

from crdt.errors import ProtocolError
from crdt.update_split import split_update

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Below this an update applies in a few milliseconds: cutting it would cost more than it saves.
SPLIT_ABOVE_BYTES = 512 * 1024
PIECE_BYTES = 256 * 1024
_SLICE_SECONDS = 0.005
# A worker that died or could not start, or an update our reader refuses but Yrs may accept.
_POOL_FAULTS = (BrokenProcessPool, OSError, RuntimeError, ProtocolError)


def _exit_with_parent(parent: int) -> None:
    """In the worker: leave when the server process is gone, even if it was killed.

    A worker holds both ends of its task pipe, so it would never see the server die; without
    this, every SIGKILLed server would leave a worker (and its memory) behind.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def encode_state(updates: Sequence[bytes]) -> bytes:
    """The full state of a Doc built from `updates` (runs in the worker process)."""
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc.get_update()


def encode_state_in_pieces(updates: Sequence[bytes], piece_bytes: int) -> list[bytes]:
    """That state cut into pieces that apply in order (runs in the worker process)."""
    return split_update(encode_state(updates), piece_bytes)


class DocLoader:
    """Applies stored updates in bounded steps; owns the worker process, started on first use."""

    def __init__(
        self, split_above: int = SPLIT_ABOVE_BYTES, piece_bytes: int = PIECE_BYTES
    ) -> None:
        self.split_above = split_above
        self._piece_bytes = piece_bytes
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def process_pool(self) -> concurrent.futures.Executor:
        """The worker process, for other CPU-heavy work on large documents (projections)."""
        return self._executor()

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # "spawn": a fork would copy this process's sockets, threads and event loop.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    async def apply(self, doc: Doc[Any], updates: Sequence[bytes]) -> None:
        clock = time.perf_counter
        slice_started = clock()
        for update in updates:
            pieces = [update]
            if len(update) > self.split_above:
                pieces = await self._in_worker(split_update, update, self._piece_bytes) or pieces
                slice_started = clock()
            for piece in pieces:
                doc.apply_update(piece)
                if clock() - slice_started >= _SLICE_SECONDS:
                    await asyncio.sleep(0)
                    slice_started = clock()

    async def encode(self, updates: Sequence[bytes]) -> bytes:
        """The state the updates add up to, encoded in the worker process (or here if the
        worker cannot run)."""
        state = await self._in_worker(encode_state, list(updates))
        return encode_state(updates) if state is None else state

    async def encode_pieces(self, updates: Sequence[bytes]) -> list[bytes]:
        """The state the updates add up to, cut into pieces of about `piece_bytes`: what a
        large document's snapshot is stored as, so that loading it needs no cut."""
        pieces = await self._in_worker(encode_state_in_pieces, list(updates), self._piece_bytes)
        return [encode_state(updates)] if pieces is None else pieces

    async def _in_worker(self, function: Callable[..., T], *args: Any) -> T | None:
        """`function(*args)` in the worker process; None if the worker cannot run it, and the
        caller does the work here instead (correct either way, one stall of the loop)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), function, *args)
        except _POOL_FAULTS as exc:
            self._pool_failed(exc)
            return None

    def _pool_failed(self, exc: BaseException) -> None:
        log.error("doc_worker_failed", error=repr(exc))
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None  # the next large document starts a fresh worker

    async def close(self) -> None:
        """Stop the worker and wait for it to exit (off the loop: it may be mid-task)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
