"""The fan-out port: one contract for the local and the Redis implementation (real Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from crdt.schema import DocKey, DocKind
from server.fanout import Fanout, LocalFanout, RoomSummary, Signal
from server.redis_fanout import RedisFanout, RedisFanoutSettings

REDIS_URL = "redis://127.0.0.1:6379/0"
KEY = DocKey("p1", DocKind.FLOW, "f1")


class Link:
    """A RoomLink that records what the fan-out delivers."""

    def __init__(self) -> None:
        self.updates: list[tuple[int, bytes]] = []
        self.presence: list[tuple[str, bytes]] = []
        self.gone: list[str] = []
        self.catch_ups = 0

    def apply_remote(self, seq: int, update: bytes) -> None:
        self.updates.append((seq, update))

    def remote_awareness(self, instance: str, frame: bytes) -> None:
        self.presence.append((instance, frame))

    def instance_gone(self, instance: str) -> None:
        self.gone.append(instance)

    def catch_up(self) -> None:
        self.catch_ups += 1


async def eventually(check: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    redis = Redis.from_url(REDIS_URL)
    keys = [k async for k in redis.scan_iter(match=f"{name}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def _redis(prefix: str, instance: str, ttl: float = 3.0) -> RedisFanout:
    settings = RedisFanoutSettings(
        url=REDIS_URL, prefix=prefix, heartbeat_seconds=0.2, instance_ttl_seconds=ttl
    )
    return RedisFanout(settings, instance, lambda: [RoomSummary(KEY.name, 1)], "test")


async def _until_heard(sender: RedisFanout, link: Link) -> None:
    # Pub/sub keeps nothing: a message sent before the receiver's subscription lands is
    # gone (presence renews itself), so keep announcing until it is heard.
    async with asyncio.timeout(5):
        while not link.presence:
            sender.publish_awareness(KEY, b"\x01\x01\x00")
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("kind", ["local", "redis"])
async def test_fanout_signals_reach_this_instance_too(kind: str, prefix: str) -> None:
    fanout: Fanout
    if kind == "local":
        fanout = LocalFanout("me", lambda: [])
    else:
        fanout = redis = _redis(prefix, "me")
        await redis.start()
    got: list[Signal] = []

    async def handler(signal: Signal) -> None:
        got.append(signal)

    fanout.on_signal(handler)
    try:
        await asyncio.sleep(0.2)  # the subscriber is up
        await fanout.signal(Signal("unload", {"room": KEY.name}))
        await eventually(lambda: got == [Signal("unload", {"room": KEY.name})])
        assert fanout.healthy
        assert "me" in await fanout.cluster()
    finally:
        if kind == "redis":
            await redis.close()


async def test_fanout_redis_carries_updates_in_order_and_skips_its_own(prefix: str) -> None:
    one, two = _redis(prefix, "one"), _redis(prefix, "two")
    await one.start()
    await two.start()
    link_one, link_two = Link(), Link()
    try:
        await one.join(KEY, link_one)
        await two.join(KEY, link_two)
        one.publish_updates(KEY, 5, [b"a", b"b", b"c"])
        await eventually(lambda: len(link_two.updates) == 3)
        assert link_two.updates == [(5, b"a"), (6, b"b"), (7, b"c")]
        await asyncio.sleep(0.3)
        assert link_one.updates == []  # never hears its own publications
        await _until_heard(one, link_two)
        assert link_two.presence[0] == ("one", b"\x01\x01\x00")
        view = await two.cluster()
        assert set(view) == {"one", "two"}
        assert view["one"] == [RoomSummary(KEY.name, 1)]
    finally:
        await one.close()
        await two.close()


async def test_fanout_redis_reports_a_dead_instance(prefix: str) -> None:
    one, two = _redis(prefix, "one", ttl=0.6), _redis(prefix, "two", ttl=0.6)
    await one.start()
    await two.start()
    link = Link()
    try:
        await two.join(KEY, link)
        await one.join(KEY, Link())
        await _until_heard(one, link)
        for task in one._tasks:  # the instance stops without a goodbye: no heartbeats
            task.cancel()
        await eventually(lambda: "one" in link.gone, timeout=5)
        assert link.gone == ["one"], link.gone
    finally:
        await two.close()
        await one._commands.aclose()
        await one._reader.aclose()


async def test_fanout_redis_closes_promptly_whenever_it_is_stopped(prefix: str) -> None:
    # A cancel landing inside redis-py's own read timeout used to surface as TimeoutError,
    # which the loops retried as a Redis fault: close() then never returned (seen in CI).
    for attempt in range(40):
        fanout = _redis(prefix, f"i{attempt}")
        await fanout.start()
        await fanout.join(KEY, Link())
        await asyncio.sleep(0.005 * (attempt % 25))  # land the stop at varied points
        async with asyncio.timeout(6):
            await fanout.close()
