"""Crash tests with real processes: SIGKILL the server under a storm; stop the database.

The promise under test (DESIGN.md §6): nothing any client received from the server is ever
lost. A write storm of stock Node clients runs against a `storyarn serve` subprocess; after
each SIGKILL, before the restart, the durable document is read straight from the database and
must contain every key any client had received from the server.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx
import pytest

from tests.e2e.storm import converge, durable_keys, storm
from tests.support.live_server import TEST_SECRET, free_port
from tests.support.processes import ServerProcess, database, postgres_cluster

pytestmark = pytest.mark.e2e


def _server_env(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        # Development: the storm's clients sign in by name (no identity service in these tests).
        "STORYARN_ENV": "development",
        "STORYARN_SECRET_KEY": TEST_SECRET,
        "STORYARN_DATA_DIR": str(tmp_path),
        "DATABASE_URL": url,
        "STORYARN_LOG_LEVEL": "warning",
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_crash_sigkill_under_storm_loses_nothing_received(
    backend: str, tmp_path: Path
) -> None:
    rng = random.Random(backend)
    async with database(backend, tmp_path) as url:
        port = free_port()
        env = _server_env(url, tmp_path)
        server = ServerProcess(env, port)
        await server.start()
        try:
            async with storm(port) as s:
                for cycle in range(20):
                    await asyncio.sleep(rng.uniform(0.3, 1.0))
                    await server.kill()
                    await asyncio.sleep(0.2)  # what was printed before the kill is read
                    shown = set(s.received)
                    durable = await durable_keys(url)
                    missing = shown - durable
                    assert not missing, f"cycle {cycle}: {len(missing)} shown keys not durable"
                    await server.start()
                final = await converge(s, url)
                assert s.received <= final
                # The check above meant something: the storm wrote and clients saw it.
                assert len(final) > 100
                assert len(s.received) > 100
        finally:
            await server.stop()


async def test_crash_database_stopped_and_restarted_during_storm(tmp_path: Path) -> None:
    async with database("postgres", tmp_path) as url:
        port = free_port()
        env = _server_env(url, tmp_path)
        server = ServerProcess(env, port)
        await server.start()
        try:
            async with storm(port) as s, httpx.AsyncClient() as http:
                await asyncio.sleep(1.0)
                shown_before = set(s.received)
                await asyncio.to_thread(postgres_cluster, "stop")
                try:
                    await asyncio.sleep(1.5)
                    # Nothing new becomes visible while nothing can be committed...
                    during = set(s.received)
                    await asyncio.sleep(1.0)
                    assert set(s.received) == during
                    health = await http.get(f"http://127.0.0.1:{port}/health")
                    assert health.status_code == 503
                finally:
                    await asyncio.to_thread(postgres_cluster, "start")
                # ...and everything the clients sent meanwhile is committed afterwards.
                final = await converge(s, url)
                assert shown_before <= final
                assert s.received <= final
                state = await s.command("state")
                assert all(state["synced"])  # nobody was thrown out
                async with asyncio.timeout(20):
                    while (await http.get(f"http://127.0.0.1:{port}/health")).status_code != 200:
                        await asyncio.sleep(0.2)
        finally:
            await server.stop()
