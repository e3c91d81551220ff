"""`RedisFanout`: rooms shared by instances through Redis streams and pub/sub.

- Updates: one stream per room (`<prefix>:room:<name>:updates`), entries {i: instance, s: seq,
  d: update}, trimmed by length and age. One reader loop per process reads every joined room's
  stream with a short block, so a newly joined room waits at most one block for its first read
  (it loses nothing: its position was taken before it loaded from SQL).
- A publish that fails is remembered; once Redis answers again, a marker entry (empty data) for
  each such room tells the others to read SQL up to that seq. When our reader comes back after
  an outage, every room reads SQL for what it may have missed.
- Awareness: one pub/sub channel per room; signals: one channel for the cluster.
- Heartbeats: each instance writes its rooms and connection counts under a key with a TTL; an
  instance whose key expired is gone, and its clients' presence is removed everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from crdt.schema import DocKey
from server import metrics
from server.fanout import RoomLink, RoomSummary, Signal, SignalHandler

log = structlog.get_logger(__name__)

_FAULTS = (RedisError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class RedisFanoutSettings:
    url: str
    prefix: str = "storyarn"
    block_ms: int = 200
    stream_max_len: int = 10_000
    stream_max_age_seconds: float = 3600.0
    heartbeat_seconds: float = 1.0
    instance_ttl_seconds: float = 3.0
    publish_queue: int = 10_000


class RedisFanout:
    def __init__(
        self,
        settings: RedisFanoutSettings,
        instance_id: str,
        rooms: Callable[[], list[RoomSummary]],
        version: str,
    ) -> None:
        self.instance_id = instance_id
        self._settings = settings
        self._rooms = rooms
        self._version = version
        self._prefix = settings.prefix
        self._commands: Redis = Redis.from_url(settings.url, socket_timeout=5)
        self._reader: Redis = Redis.from_url(
            settings.url, socket_timeout=settings.block_ms / 1000 + 5
        )
        self._pubsub: PubSub | None = None
        self._links: dict[DocKey, RoomLink] = {}
        self._positions: dict[str, bytes] = {}  # stream -> last id read
        self._stream_keys: dict[str, DocKey] = {}
        self._channel_keys: dict[str, DocKey] = {}
        self._outbox: deque[tuple[DocKey, int, Sequence[bytes]]] = deque()
        self._presence: deque[tuple[str, bytes]] = deque(maxlen=settings.publish_queue)
        self._outbox_ready = asyncio.Event()
        self._idle = asyncio.Event()  # the publisher has nothing left to send
        self._trimmed: dict[str, float] = {}  # stream -> when it was last trimmed by age
        self._unpublished: dict[DocKey, int] = {}  # rooms whose last seqs others may lack
        self._handlers: list[SignalHandler] = []
        self._seen_instances: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._reader_ok = True
        self._publisher_ok = True
        self._closing = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self._commands.ping()  # fail fast at start-up: Redis was asked for and is absent
        loop = asyncio.get_running_loop()
        for coro in (self._read_loop(), self._publish_loop(), self._pubsub_loop(), self._beat()):
            self._tasks.append(loop.create_task(coro))

    async def close(self) -> None:
        # Give the last commits a moment to reach the others before the publisher stops.
        if self._publisher_ok:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), 2)
        # A cancel that lands inside redis-py's own timeout can surface as TimeoutError, which
        # the loops treat as a Redis fault and retry: the flag ends them either way.
        self._closing = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=5)
            if stuck:
                log.error("fanout_tasks_stuck", tasks=len(stuck))
        with contextlib.suppress(*_FAULTS):
            await self._commands.delete(self._instance_key(self.instance_id))
        if self._pubsub is not None:
            with contextlib.suppress(*_FAULTS):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._commands.aclose()
        await self._reader.aclose()

    @property
    def healthy(self) -> bool:
        return self._reader_ok and self._publisher_ok

    async def check(self) -> None:
        await self._commands.ping()

    @property
    def backlog(self) -> int:
        """Committed batches not yet published (the metrics sampler reads it)."""
        return len(self._outbox)

    # -- names ---------------------------------------------------------------------------------

    def _stream(self, key: DocKey) -> str:
        return f"{self._prefix}:room:{key.name}:updates"

    def _channel(self, key: DocKey) -> str:
        return f"{self._prefix}:room:{key.name}:awareness"

    def _instance_key(self, instance: str) -> str:
        return f"{self._prefix}:instance:{instance}"

    @property
    def _signals(self) -> str:
        return f"{self._prefix}:signals"

    # -- rooms ---------------------------------------------------------------------------------

    async def join(self, key: DocKey, room: RoomLink) -> None:
        stream = self._stream(key)
        try:
            last: Any = await self._commands.xrevrange(stream, count=1)
            position: bytes = last[0][0] if last else b"0-0"
        except _FAULTS:
            # Redis is down: read from now on; the reader's recovery makes the room catch up.
            position = f"{int(time.time() * 1000)}-0".encode()
        self._links[key] = room
        self._stream_keys[stream] = key
        self._positions[stream] = position
        self._channel_keys[self._channel(key)] = key  # the pub/sub loop subscribes to it

    async def leave(self, key: DocKey) -> None:
        self._links.pop(key, None)
        stream = self._stream(key)
        self._stream_keys.pop(stream, None)
        self._positions.pop(stream, None)
        self._trimmed.pop(stream, None)
        self._channel_keys.pop(self._channel(key), None)

    # -- updates -------------------------------------------------------------------------------

    def publish_updates(self, key: DocKey, first_seq: int, updates: Sequence[bytes]) -> None:
        if len(self._outbox) >= self._settings.publish_queue:
            dropped_key, first, dropped = self._outbox.popleft()
            self._remember_unpublished(dropped_key, first + len(dropped) - 1)
        self._outbox.append((key, first_seq, updates))
        self._idle.clear()
        self._outbox_ready.set()

    def _remember_unpublished(self, key: DocKey, seq: int) -> None:
        self._unpublished[key] = max(seq, self._unpublished.get(key, 0))

    async def _publish_loop(self) -> None:
        backoff = 0.05
        while not self._closing:
            if not self._outbox and not self._unpublished and not self._presence:
                self._outbox_ready.clear()
                self._idle.set()
                await self._outbox_ready.wait()
                self._idle.clear()
                continue
            batch = list(self._outbox)
            self._outbox.clear()
            presence = list(self._presence)
            self._presence.clear()
            markers = dict(self._unpublished)
            try:
                await self._publish(batch, markers, presence)
            except _FAULTS as exc:
                metrics.REDIS_PUBLISH_FAILURES.inc()
                for key, first, updates in batch:
                    self._remember_unpublished(key, first + len(updates) - 1)
                if self._publisher_ok:
                    log.error("fanout_publish_failed", error=repr(exc))
                self._publisher_ok = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for key, seq in markers.items():
                if self._unpublished.get(key) == seq:
                    del self._unpublished[key]
            if not self._publisher_ok:
                log.info("fanout_publish_recovered")
            self._publisher_ok = True
            backoff = 0.05

    async def _publish(
        self,
        batch: list[tuple[DocKey, int, Sequence[bytes]]],
        markers: dict[DocKey, int],
        presence: list[tuple[str, bytes]],
    ) -> None:
        me = self.instance_id.encode()
        now = time.monotonic()
        min_id = int((time.time() - self._settings.stream_max_age_seconds) * 1000)
        async with self._commands.pipeline(transaction=False) as pipe:
            for key, seq in markers.items():
                # "You may have missed up to `seq`": receivers read SQL for the gap.
                pipe.xadd(self._stream(key), {"i": me, "s": seq, "d": b""})
            for key, first, updates in batch:
                stream = self._stream(key)
                for offset, update in enumerate(updates):
                    pipe.xadd(
                        stream,
                        {"i": me, "s": first + offset, "d": update},
                        maxlen=self._settings.stream_max_len,
                        approximate=True,
                    )
                if now - self._trimmed.get(stream, 0.0) >= 1.0:
                    # Age trimming once a second per stream is plenty; per publish it cost
                    # as many Redis calls as the updates themselves.
                    self._trimmed[stream] = now
                    pipe.xtrim(stream, minid=min_id, approximate=True)
            for channel, payload in presence:
                pipe.publish(channel, payload)
            await pipe.execute()

    async def _read_loop(self) -> None:
        backoff = 0.05
        while not self._closing:
            if not self._positions:
                await asyncio.sleep(self._settings.block_ms / 1000)
                continue
            try:
                streams: Any = dict(self._positions)
                result: Any = await self._reader.xread(
                    streams, block=self._settings.block_ms, count=1000
                )
            except _FAULTS as exc:
                metrics.REDIS_READ_FAILURES.inc()
                if self._reader_ok:
                    log.error("fanout_read_failed", error=repr(exc))
                self._reader_ok = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.05
            if not self._reader_ok:
                self._reader_ok = True
                log.info("fanout_read_recovered", rooms=len(self._links))
                for link in list(self._links.values()):
                    link.catch_up()
            now_ms = time.time() * 1000
            for stream_name, entries in result or []:
                stream = stream_name.decode() if isinstance(stream_name, bytes) else stream_name
                key = self._stream_keys.get(stream)
                if key is None:
                    continue
                entry_id: bytes
                fields: dict[bytes, bytes]
                for entry_id, fields in entries:
                    self._positions[stream] = entry_id
                    if fields.get(b"i") == self.instance_id.encode():
                        continue
                    # Entry ids are Redis's clock in ms at XADD: the age is the carrier's lag.
                    lag_ms = now_ms - int(entry_id.split(b"-", 1)[0])
                    metrics.REDIS_DELIVERY_SECONDS.observe(max(0.0, lag_ms / 1000))
                    target = self._links.get(key)
                    if target is not None:
                        target.apply_remote(int(fields[b"s"]), fields.get(b"d", b""))

    # -- awareness and signals -----------------------------------------------------------------

    def publish_awareness(self, key: DocKey, frame: bytes) -> None:
        # Presence is ephemeral: past the bound the oldest goes, and the next renewal mends it.
        self._presence.append((self._channel(key), self.instance_id.encode() + b"\n" + frame))
        self._idle.clear()
        self._outbox_ready.set()

    async def signal(self, signal: Signal) -> None:
        payload = json.dumps({"kind": signal.kind, "data": signal.data})
        await self._commands.publish(self._signals, payload)

    def on_signal(self, handler: SignalHandler) -> None:
        self._handlers.append(handler)

    async def _pubsub_loop(self) -> None:
        backoff = 0.05
        while not self._closing:
            # Only this task touches the PubSub: redis-py loses messages when subscribe
            # and get_message run concurrently on one connection (seen here).
            pubsub = self._commands.pubsub()
            self._pubsub = pubsub
            try:
                subscribed = {self._signals, *self._channel_keys}
                await pubsub.subscribe(*subscribed)
                backoff = 0.05
                while not self._closing:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    if message is not None:
                        await self._dispatch(message)
                    wanted = {self._signals, *self._channel_keys}
                    if wanted != subscribed:
                        if wanted - subscribed:
                            await pubsub.subscribe(*(wanted - subscribed))
                        if subscribed - wanted:
                            await pubsub.unsubscribe(*(subscribed - wanted))
                        subscribed = wanted
            except _FAULTS as exc:
                log.warning("fanout_pubsub_failed", error=repr(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                # Every PubSub is closed by the task that made it, however the loop ends: one
                # dropped here (a stop during a reconnect) leaks its connection.
                self._pubsub = None
                with contextlib.suppress(*_FAULTS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _dispatch(self, message: dict[str, object]) -> None:
        channel_raw = message.get("channel")
        data = message.get("data")
        if not isinstance(data, bytes):
            return
        channel = channel_raw.decode() if isinstance(channel_raw, bytes) else str(channel_raw)
        if channel == self._signals:
            body = json.loads(data)
            signal = Signal(body["kind"], body.get("data", {}))
            for handler in self._handlers:
                try:
                    await handler(signal)
                except Exception:
                    log.exception("signal_handler_failed", kind=signal.kind)
            return
        key = self._channel_keys.get(channel)
        link = None if key is None else self._links.get(key)
        if link is None:
            return
        instance, _, frame = data.partition(b"\n")
        sender = instance.decode()
        if sender == self.instance_id:
            return
        self._seen_instances.add(sender)
        link.remote_awareness(sender, frame)

    # -- heartbeats and the cluster view -------------------------------------------------------

    async def _beat(self) -> None:
        while not self._closing:
            rooms = [{"room": r.room, "connections": r.connections} for r in self._rooms()]
            body = json.dumps({"version": self._version, "rooms": rooms, "at": time.time()})
            try:
                await self._commands.set(
                    self._instance_key(self.instance_id),
                    body,
                    px=int(self._settings.instance_ttl_seconds * 1000),
                )
                await self._forget_dead_instances()
            except _FAULTS as exc:
                log.warning("fanout_heartbeat_failed", error=repr(exc))
            await asyncio.sleep(self._settings.heartbeat_seconds)

    async def _forget_dead_instances(self) -> None:
        for instance in list(self._seen_instances):
            if not await self._commands.exists(self._instance_key(instance)):
                self._seen_instances.discard(instance)
                log.info("instance_gone", instance=instance)
                for link in list(self._links.values()):
                    link.instance_gone(instance)

    async def cluster(self) -> dict[str, list[RoomSummary]]:
        view: dict[str, list[RoomSummary]] = {}
        async for raw in self._commands.scan_iter(match=self._instance_key("*"), count=100):
            name = raw.decode() if isinstance(raw, bytes) else raw
            body = await self._commands.get(name)
            if body is None:
                continue
            instance = name.removeprefix(self._instance_key(""))
            rooms = json.loads(body)["rooms"]
            view[instance] = [RoomSummary(r["room"], r["connections"]) for r in rooms]
        return view
