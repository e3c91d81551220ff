"""GET /health with Redis: a private redis-server of the test's own, stopped under the server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server import __version__
from tests.support.live_server import free_port, live_server


@contextlib.asynccontextmanager
async def private_redis() -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no"),
        stdout=asyncio.subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = Redis.from_url(url)
        async with asyncio.timeout(10):
            while True:
                with contextlib.suppress(RedisError, OSError):
                    if await client.ping():
                        break
                await asyncio.sleep(0.05)
        await client.aclose()
        yield url, proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), 10)


async def health(base_url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{base_url}/health", timeout=10)
    return answer.status_code, answer.json()


async def test_health_checks_redis_and_reports_its_outage() -> None:
    async with private_redis() as (url, redis_proc):
        env = {"REDIS_URL": url, "STORYARN_REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}"}
        async with live_server(env) as server:
            status, body = await health(server.base_url)
            assert status == 200
            assert body["checks"]["redis"] == {"status": "ok"}
            assert body["checks"]["database"] == {"status": "ok"}
            assert body["version"] == __version__
            redis_proc.kill()
            await asyncio.wait_for(redis_proc.wait(), 10)
            async with asyncio.timeout(15):
                while status == 200:
                    status, body = await health(server.base_url)
                    await asyncio.sleep(0.1)
            assert status == 503
            assert body["status"] == "error"
            assert body["checks"]["redis"]["status"] == "error"
            assert body["checks"]["redis"]["error"]
            assert body["checks"]["database"] == {"status": "ok"}


async def test_health_without_redis_checks_only_what_is_used() -> None:
    async with live_server() as server:
        status, body = await health(server.base_url)
    assert status == 200
    assert set(body["checks"]) == {"database", "storage", "commits"}
    assert body["checks"]["storage"] == {"status": "ok"}
