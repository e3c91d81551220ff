"""The projector: keeps the relational projection tables in step with committed documents.

Rooms tell it `committed(key, seq)` after each commit; that call only records a deadline, so it
never delays a commit, a broadcast or an acknowledgement. One worker task projects documents
whose deadline has passed, one at a time: it loads the committed state from the store, computes
the rows in a worker thread (`persistence.projection_runner`) and writes them. Commits that
arrive within the debounce window share one projection, and the deadline is set by the first of
them, so a document edited without pause is still projected every window.

A failed projection is logged, counted (`storyarn_projection_failures`) and retried with
backoff; the room never hears of it. At start the projector also picks up documents whose
projection is behind their log (a crash or a restart between a commit and its projection).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.schema import DocKey
from persistence.projection_runner import ProjectionRunner
from persistence.store import DocumentStore, StoreError
from server import metrics

log = structlog.get_logger(__name__)

MAX_PENDING = 100_000  # documents; past it, a rebuild (`storyarn projections rebuild`) catches up


class Projector:
    def __init__(
        self,
        runner: ProjectionRunner,
        *,
        debounce_seconds: float,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
    ) -> None:
        self._runner = runner
        self._debounce = debounce_seconds
        self._retry_initial = retry_initial_seconds
        self._retry_max = retry_max_seconds
        self._due: dict[DocKey, float] = {}  # monotonic deadline per document
        self._since: dict[DocKey, float] = {}  # its first unprojected commit, for the lag metric
        self._failures: dict[DocKey, int] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.projected = 0  # written projections, for tests and benchmarks

    def committed(self, key: DocKey, seq: int) -> None:
        """A room committed `key` up to `seq`: project it within the debounce window."""
        self._schedule(key, self._debounce)

    def _schedule(self, key: DocKey, delay: float) -> None:
        if key in self._due:
            return  # already due: that projection will read this commit too
        if len(self._due) >= MAX_PENDING:
            log.error("projection_queue_full", pending=len(self._due))
            return
        now = time.monotonic()
        self._due[key] = now + delay
        self._since.setdefault(key, now)
        self._idle.clear()
        metrics.PROJECTIONS_PENDING.set(len(self._due))
        self._wake.set()

    async def catch_up(self) -> None:
        """Schedule every document whose projection is behind its committed log."""
        try:
            stale = await self._runner.stale_documents()
        except StoreError as exc:  # the database may be down at start: the next start retries
            log.warning("projection_catch_up_failed", error=repr(exc))
            return
        for key in stale:
            self._schedule(key, 0.0)
        if stale:
            log.info("projection_catch_up", documents=len(stale))

    async def run(self) -> None:
        """The worker loop: project each document once its deadline passes. Runs until cancelled."""
        while True:
            key = self._next_due()
            if key is None:
                self._wake.clear()
                timeout = min(self._due.values(), default=None)
                if timeout is None:
                    self._idle.set()
                with contextlib.suppress(TimeoutError):
                    wait = None if timeout is None else max(0.0, timeout - time.monotonic())
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            await self._project(key)

    def _next_due(self) -> DocKey | None:
        now = time.monotonic()
        ready = [
            (deadline, key.name, key) for key, deadline in self._due.items() if deadline <= now
        ]
        if not ready:
            return None
        key = min(ready)[2]
        del self._due[key]
        metrics.PROJECTIONS_PENDING.set(len(self._due))
        return key

    async def _project(self, key: DocKey) -> None:
        started = time.perf_counter()
        since = self._since.pop(key, time.monotonic())
        try:
            outcome = await self._runner.project(key)
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            # Whatever failed (database, a bug in a projection, a native panic on a stored
            # update, which is a BaseException), the room is untouched, the worker lives on,
            # and the document is tried again later; a rebuild can redo it from the documents.
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            metrics.PROJECTION_FAILURES.inc()
            delay = min(self._retry_initial * 2 ** (failures - 1), self._retry_max)
            log.warning(
                "projection_failed",
                room=key.name,
                failures=failures,
                retry_in=delay,
                error=repr(exc),
            )
            self._since.setdefault(key, since)
            self._schedule(key, delay)
            return
        self._failures.pop(key, None)
        metrics.PROJECTION_SECONDS.observe(time.perf_counter() - started)
        if outcome.written:
            self.projected += 1
            metrics.PROJECTIONS.inc()
            metrics.PROJECTION_LAG_SECONDS.observe(time.monotonic() - since)
            if outcome.flags:
                log.info("projection_repaired", room=key.name, seq=outcome.seq, flags=outcome.flags)
        for dependent in outcome.dependents:
            self._schedule(dependent, 0.0)

    async def drained(self) -> None:
        """Wait until nothing is due (tests, and the bounded drain at shutdown)."""
        while not self._idle.is_set():
            await self._idle.wait()


@contextlib.asynccontextmanager
async def running_projector(
    engine: AsyncEngine,
    store: DocumentStore,
    *,
    debounce_seconds: float,
    drain_seconds: float = 5.0,
    large: tuple[Callable[[], Executor], int] | None = None,
) -> AsyncIterator[Projector]:
    """A started projector; on exit, a bounded drain of what is due, then stop.

    Work left at exit is not lost: the next start's catch-up finds it (or a rebuild does).
    """
    # One thread: projecting is GIL-bound, and one at a time keeps the database load small.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projector")
    projector = Projector(
        ProjectionRunner(engine, store, executor=executor, large=large),
        debounce_seconds=debounce_seconds,
    )
    task = asyncio.get_running_loop().create_task(projector.run())
    await projector.catch_up()
    try:
        yield projector
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(projector.drained(), drain_seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        executor.shutdown(wait=True, cancel_futures=True)
