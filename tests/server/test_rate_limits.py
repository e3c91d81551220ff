"""Rate limits on connection attempts and token-bearing requests trip, then recover."""

import asyncio
import contextlib

import httpx

from server.ratelimit import KeyedLimiter
from tests.support.live_server import LiveServer, live_server
from tests.support.yclient import yclient

ROOM = "projects/p1/flows/f1"
LOOSE = {  # every other limit out of the way
    "STORYARN_CONNECT_RATE_PER_ADDRESS": "1000",
    "STORYARN_CONNECT_BURST_PER_ADDRESS": "1000",
    "STORYARN_CONNECT_RATE_PER_USER": "1000",
    "STORYARN_CONNECT_BURST_PER_USER": "1000",
    "STORYARN_API_RATE_PER_ADDRESS": "1000",
    "STORYARN_API_BURST_PER_ADDRESS": "1000",
    "STORYARN_API_RATE_PER_USER": "1000",
    "STORYARN_API_BURST_PER_USER": "1000",
}


async def _connect(srv: LiveServer, name: str) -> int | None:
    """None if served (synced), else the close code."""
    async with yclient(srv.ws_url(ROOM, token=name), sync=False) as client:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await client.synced.wait()
            return None
        return await client.wait_closed()


async def test_rate_limits_connection_attempts_per_address() -> None:
    env = {
        **LOOSE,
        "STORYARN_CONNECT_RATE_PER_ADDRESS": "2",
        "STORYARN_CONNECT_BURST_PER_ADDRESS": "3",
    }
    async with live_server(env) as srv:
        assert [await _connect(srv, f"u{i}") for i in range(3)] == [None, None, None]
        assert await _connect(srv, "u3") == 4429  # another user, same address
        await asyncio.sleep(0.6)  # 2 a second: one attempt back
        assert await _connect(srv, "u4") is None


async def test_rate_limits_connection_attempts_per_user() -> None:
    env = {**LOOSE, "STORYARN_CONNECT_RATE_PER_USER": "2", "STORYARN_CONNECT_BURST_PER_USER": "2"}
    async with live_server(env) as srv:
        assert [await _connect(srv, "ann") for _ in range(2)] == [None, None]
        assert await _connect(srv, "ann") == 4429
        assert await _connect(srv, "bob") is None  # someone else is not held back
        await asyncio.sleep(0.6)
        assert await _connect(srv, "ann") is None


async def test_rate_limits_concurrent_connections_per_user() -> None:
    async with (
        live_server({**LOOSE, "STORYARN_MAX_CONNECTIONS_PER_USER": "2"}) as srv,
        yclient(srv.ws_url(ROOM, token="ann")),
    ):
        async with yclient(srv.ws_url("projects/p1/tree", token="ann")):
            assert await _connect(srv, "ann") == 4429
            assert await _connect(srv, "bob") is None
        # One closed: a slot is free again (the server notices the close first).
        for _ in range(50):
            if srv.services.access is not None and srv.services.access.sessions.count("ann") < 2:
                break
            await asyncio.sleep(0.02)
        assert await _connect(srv, "ann") is None


async def test_rate_limits_token_bearing_requests() -> None:
    env = {**LOOSE, "STORYARN_API_RATE_PER_ADDRESS": "2", "STORYARN_API_BURST_PER_ADDRESS": "3"}
    path = "/api/v1/projects/p1/flows/f1/versions"
    async with live_server(env) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        statuses = [
            (await http.get(path, headers={"Authorization": f"Bearer u{i}"})).status_code
            for i in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = await http.get(path, headers={"Authorization": "Bearer u9"})
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert (await http.get("/health/live")).status_code == 200  # probes are never limited
        await asyncio.sleep(0.6)
        assert (await http.get(path, headers={"Authorization": "Bearer u5"})).status_code == 200


async def test_rate_limits_token_bearing_requests_per_user() -> None:
    env = {**LOOSE, "STORYARN_API_RATE_PER_USER": "2", "STORYARN_API_BURST_PER_USER": "2"}
    path = "/api/v1/projects/p1/flows/f1/versions"
    ann = {"Authorization": "Bearer ann"}
    async with live_server(env) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        assert [(await http.get(path, headers=ann)).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        # The websocket surface has buckets of its own.
        assert await _connect(srv, "ann") is None
        await asyncio.sleep(0.6)
        assert (await http.get(path, headers=ann)).status_code == 200


def test_rate_limits_keyed_map_is_bounded_and_can_be_off() -> None:
    limiter = KeyedLimiter(1.0, 1, max_keys=3)
    assert all(limiter.allow(f"k{i}") for i in range(10))
    assert len(limiter) == 3
    assert not limiter.allow("k9")  # a recent key keeps its (empty) bucket
    off = KeyedLimiter(0, 1)
    assert all(off.allow("same") for _ in range(100)) and len(off) == 0
