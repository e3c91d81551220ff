"""One client connection: a bounded send queue drained by one writer, and its rate limits.

Rooms call `send(frame)`, which never awaits: a frame is queued, and a connection whose queue
passes its bound (a slow consumer) is closed with 1013 instead of growing memory; it resyncs
when it comes back. The writer is the only task that touches the transport's send side, and the
only one that closes it. Closing drops what is still queued (a closed client resyncs anyway)
and sends the close frame right after the frame being written, if any.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server import metrics
from server.auth import Principal
from server.close_codes import CloseCode, close_reason
from server.limits import TokenBucket

SendBytes = Callable[[bytes], Awaitable[None]]
CloseTransport = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_queue_frames: int
    max_queue_bytes: int
    updates_per_second: float
    update_burst: int
    bytes_per_second: float
    bytes_burst: int
    awareness_per_second: float
    awareness_burst: int


class Connection:
    __slots__ = (
        "_close",
        "_closed_errors",
        "_limits",
        "_queue",
        "_queued_bytes",
        "_queued_frames",
        "_send",
        "_waiter",
        "awareness_bucket",
        "bytes_bucket",
        "close_code",
        "close_message",
        "id",
        "last_sent",
        "on_close",
        "principal",
        "slow_consumer",
        "update_bucket",
        "wants_ack",
    )

    def __init__(
        self,
        conn_id: int,
        principal: Principal,
        send: SendBytes,
        close: CloseTransport,
        limits: ConnectionLimits,
        *,
        wants_ack: bool = False,
        closed_errors: tuple[type[Exception], ...] = (OSError,),
    ) -> None:
        self.id = conn_id
        self.principal = principal
        self.wants_ack = wants_ack
        self.close_code: int | None = None
        self.close_message = ""
        self.last_sent = time.monotonic()
        self.slow_consumer = False
        # What the transport raises once the peer is gone; the adapter knows, we do not.
        self._closed_errors = closed_errors
        self.on_close: Callable[[Connection], None] | None = None
        self._send = send
        self._close = close
        # A plain list the writer swaps out whole, and a future only while the writer idles:
        # an idle connection holds neither a deque nor an Event (together about 1.5 KiB).
        self._queue: list[bytes] = []
        self._queued_frames = 0  # queued and not yet written, the writer's batch included
        self._queued_bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self._limits = limits
        self.update_bucket = TokenBucket(limits.updates_per_second, limits.update_burst)
        self.bytes_bucket = TokenBucket(limits.bytes_per_second, limits.bytes_burst)
        self.awareness_bucket = TokenBucket(limits.awareness_per_second, limits.awareness_burst)

    @property
    def closing(self) -> bool:
        return self.close_code is not None

    @property
    def queued_frames(self) -> int:
        return self._queued_frames

    def send(self, frame: bytes) -> None:
        if self.close_code is not None:
            return
        queued = self._queued_frames
        # Checked before appending: a single frame above the byte bound (a big document's
        # step 2) still goes to a client that keeps up; memory stays under bound + one frame.
        if queued and (
            queued >= self._limits.max_queue_frames
            or self._queued_bytes >= self._limits.max_queue_bytes
        ):
            self.slow_consumer = True
            metrics.SLOW_CONSUMERS.inc()
            self.close(CloseCode.TRY_AGAIN_LATER, "slow consumer: send queue full")
            return
        self._queue.append(frame)
        self._queued_frames = queued + 1
        self._queued_bytes += len(frame)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self, code: int, message: str = "") -> None:
        """Ask the writer to close the transport after nothing else; idempotent."""
        if self.close_code is not None:
            return
        self.close_code = code
        self.close_message = close_reason(message)
        self._queue = []
        self._queued_frames = 0
        self._queued_bytes = 0
        self._wake()
        if self.on_close is not None:
            # Leave the room now: a slow consumer's writer may sit on a stalled socket for
            # a while, and the room must not keep serving (or showing) it meanwhile.
            self.on_close(self)

    async def run_writer(self) -> None:
        """Drain the queue to the transport until closed; then close the transport."""
        loop = asyncio.get_running_loop()
        try:
            while self.close_code is None:
                if not self._queue:
                    self._waiter = loop.create_future()
                    try:
                        await self._waiter
                    finally:
                        self._waiter = None
                    continue
                batch, self._queue = self._queue, []
                for frame in batch:
                    if self.closing:  # a property: mypy's narrowing above does not hold here
                        break  # close() dropped the rest: the client resyncs anyway
                    self._queued_frames -= 1
                    self._queued_bytes -= len(frame)
                    await self._send(frame)
                    self.last_sent = time.monotonic()
                    metrics.FRAMES_OUT.inc()
                    metrics.BYTES_OUT.inc(len(frame))
            await self._close(self.close_code, self.close_message)
        except self._closed_errors:
            # The peer is gone mid-send: there is nobody left to tell.
            self.close_code = self.close_code or CloseCode.GOING_AWAY
