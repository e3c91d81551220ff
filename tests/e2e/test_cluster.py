"""Several server processes serving the same rooms through Redis and one Postgres database.

Real Redis on 127.0.0.1 with a key prefix per test, real Postgres (a database per test), real
`storyarn serve` processes and stock Node clients spread across them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Map
from redis.asyncio import Redis

from crdt.awareness import AwarenessEntry, encode_update
from crdt.messages import encode_awareness
from tests.e2e.storm import ROOM, converge, durable_keys, storm
from tests.server.conftest import set_node
from tests.support.live_server import TEST_SECRET, free_port, live_server
from tests.support.processes import ServerProcess, database
from tests.support.yclient import yclient

pytestmark = pytest.mark.e2e

REDIS_URL = "redis://127.0.0.1:6379/0"


@contextlib.asynccontextmanager
async def cluster(tmp_path: Path, size: int) -> AsyncIterator[tuple[list[ServerProcess], str]]:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    async with database("postgres", tmp_path) as url:
        env = {
            "STORYARN_ENV": "development",
            "STORYARN_SECRET_KEY": TEST_SECRET,
            "STORYARN_DATA_DIR": str(tmp_path),
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "STORYARN_REDIS_PREFIX": prefix,
            "STORYARN_LOG_LEVEL": "warning",
        }
        servers = [ServerProcess(env, free_port()) for _ in range(size)]
        await asyncio.gather(*(s.start() for s in servers))
        try:
            yield servers, url
        finally:
            await asyncio.gather(*(s.stop() for s in servers))
            await _drop_keys(prefix)


async def _drop_keys(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def _redis_server(action: str) -> None:
    if action == "stop":
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
            capture_output=True,
            timeout=30,
            check=False,  # the connection drops as Redis exits
        )
    else:
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )


async def _wait_redis() -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        async with asyncio.timeout(20):
            while True:
                with contextlib.suppress(OSError, Exception):
                    if await redis.ping():
                        return
                await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


async def test_cluster_three_instances_converge_on_map_text_and_xml(tmp_path: Path) -> None:
    async with cluster(tmp_path, 3) as (servers, url):  # noqa: SIM117 - storm needs the ports
        async with storm([s.port for s in servers], clients=6, rich=True) as s:
            await asyncio.sleep(3.0)
            final = await converge(s, url)
            assert len(final) > 100
            assert s.received <= final  # what anyone saw is in the database


async def test_cluster_awareness_crosses_instances_and_dies_with_its_instance(
    tmp_path: Path,
) -> None:
    async with cluster(tmp_path, 2) as (servers, _url):
        one, two = servers
        url_one = f"ws://127.0.0.1:{one.port}/sync/{ROOM}?token=ann"
        url_two = f"ws://127.0.0.1:{two.port}/sync/{ROOM}?token=bob"
        async with yclient(url_one) as a, yclient(url_two) as b:
            state = json.dumps({"user": {"name": "Ann"}})
            # Pub/sub keeps nothing: a state published before the other instance's subscription
            # to the room is live is gone (clients renew theirs every 15 s), so keep renewing.
            async with asyncio.timeout(5):
                for clock in itertools.count(1):
                    entry = AwarenessEntry(77, clock, state)
                    await a.send_raw(encode_awareness(encode_update([entry])))
                    with contextlib.suppress(TimeoutError):
                        await b.wait_for(lambda: 77 in b.awareness, timeout=0.2)
                        break
            # A joiner on the other instance gets the remote presence at once, too.
            async with yclient(f"ws://127.0.0.1:{two.port}/sync/{ROOM}?token=cat") as c:
                await c.wait_for(lambda: 77 in c.awareness, timeout=2)
            await one.kill()  # the whole instance dies: its clients' presence must vanish
            await b.wait_for(lambda: 77 not in b.awareness, timeout=8)


async def test_cluster_redis_restart_during_storm_loses_nothing(tmp_path: Path) -> None:
    async with cluster(tmp_path, 3) as (servers, url):  # noqa: SIM117 - storm needs the ports
        async with storm([s.port for s in servers], clients=6) as s:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(_redis_server, "stop")
            try:
                await asyncio.sleep(1.5)  # instances keep serving their own clients
            finally:
                await asyncio.to_thread(_redis_server, "start")
                await _wait_redis()
            await asyncio.sleep(1.0)
            final = await converge(s, url)
            assert s.received <= final
            assert len(final) > 100


async def test_cluster_sigkilled_instance_clients_move_and_converge(tmp_path: Path) -> None:
    async with cluster(tmp_path, 3) as (servers, url):  # noqa: SIM117 - storm needs the ports
        async with storm([s.port for s in servers], clients=6, failover=True) as s:
            await asyncio.sleep(1.5)
            shown = set(s.received)
            await servers[0].kill()
            await asyncio.sleep(2.0)  # its two clients fail over to the others and write on
            final = await converge(s, url)
            assert shown <= final
            assert s.received <= final


async def test_cluster_ops_view_reports_every_instance(tmp_path: Path) -> None:
    async with cluster(tmp_path, 2) as (servers, _url):
        one, two = servers
        async with (
            yclient(f"ws://127.0.0.1:{one.port}/sync/{ROOM}?token=ann"),
            yclient(f"ws://127.0.0.1:{two.port}/sync/{ROOM}?token=bob"),
            yclient(f"ws://127.0.0.1:{two.port}/sync/projects/crash/pages/p1?token=cat"),
            httpx.AsyncClient(headers={"Authorization": "Bearer ops"}) as http,
        ):

            async def view() -> dict[str, Any]:
                response = await http.get(f"http://127.0.0.1:{one.port}/api/v1/ops/rooms")
                assert response.status_code == 200
                body: dict[str, Any] = response.json()
                return body

            def by_room(body: dict[str, Any]) -> dict[str, Any]:
                return {r["room"]: r for r in body["rooms"]}

            async with asyncio.timeout(5):  # every instance heartbeats within a second
                while by_room(await view()).get(ROOM, {}).get("connections") != 2:
                    await asyncio.sleep(0.2)
            body = await view()
            assert len(body["instances"]) == 2
            rooms = by_room(body)
            assert sorted(rooms[ROOM]["instances"].values()) == [1, 1]
            assert rooms["projects/crash/pages/p1"]["connections"] == 1
            await two.kill()
            async with asyncio.timeout(8):  # gone within the heartbeat's TTL
                while len((await view())["instances"]) != 1:
                    await asyncio.sleep(0.2)


async def test_cluster_stream_trimmed_past_a_reader_is_recovered_from_sql(
    tmp_path: Path,
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    async with database("postgres", tmp_path) as url:
        env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "STORYARN_REDIS_PREFIX": prefix}
        async with (
            live_server(env) as one,
            live_server(env) as two,
            yclient(one.ws_url(ROOM, token="ann", ext="ack")) as a,
            yclient(two.ws_url(ROOM, token="bob")) as b,
        ):
            set_node(a.doc, "first", type="hub")
            await a.flush_acked()
            await b.wait_for(lambda: "first" in b.doc.get("nodes", type=Map))
            fanout: Any = two.services.fanout
            reader = fanout._tasks[0]  # the stream reader of instance two
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            for i in range(20):
                set_node(a.doc, f"n{i}", type="hub")
                await a.flush_acked()
            redis = Redis.from_url(REDIS_URL)
            try:
                stream = f"{prefix}:room:{ROOM}:updates"
                await redis.xtrim(stream, maxlen=0)  # trimmed past instance two's position
            finally:
                await redis.aclose()
            fanout._tasks[0] = asyncio.get_running_loop().create_task(fanout._read_loop())
            set_node(a.doc, "last", type="hub")
            await a.flush_acked()
            # The next entry reveals the gap; instance two reads the rest from SQL.
            expected = {"first", "last", *(f"n{i}" for i in range(20))}
            await b.wait_for(
                lambda: set(b.doc.get("nodes", type=Map).keys()) == expected, timeout=10
            )
        await _drop_keys(prefix)


async def test_cluster_forced_unload_reaches_every_instance(tmp_path: Path) -> None:
    async with cluster(tmp_path, 2) as (servers, url):
        one, two = servers
        async with (
            yclient(f"ws://127.0.0.1:{one.port}/sync/{ROOM}?token=ann&ext=ack") as a,
            yclient(f"ws://127.0.0.1:{two.port}/sync/{ROOM}?token=bob") as b,
            httpx.AsyncClient(headers={"Authorization": "Bearer ops"}) as http,
        ):
            set_node(a.doc, "kept", type="hub")
            await a.flush_acked()
            response = await http.post(
                f"http://127.0.0.1:{two.port}/api/v1/ops/rooms/unload", json={"room": ROOM}
            )
            assert response.status_code == 202
            assert await a.wait_closed() == 1012
            assert await b.wait_closed() == 1012
            bad = await http.post(f"http://127.0.0.1:{one.port}/api/v1/ops/rooms/unload", json={})
            assert bad.status_code == 422
        assert "kept" in await durable_keys(url)


async def test_cluster_serve_workers_share_rooms(tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    async with database("postgres", tmp_path) as url:
        env = {
            "STORYARN_ENV": "development",
            "STORYARN_SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "STORYARN_REDIS_PREFIX": prefix,
            "STORYARN_LOG_LEVEL": "warning",
        }
        server = ServerProcess(env, free_port(), extra_args=["--workers", "2"])
        await server.start()
        try:
            async with httpx.AsyncClient(headers={"Authorization": "Bearer ops"}) as http:
                ops = f"http://127.0.0.1:{server.port}/api/v1/ops/rooms"
                # Both workers listening before anyone connects: a worker still starting
                # would leave the other with every connection.
                async with asyncio.timeout(15):
                    while len((await http.get(ops)).json()["instances"]) != 2:
                        await asyncio.sleep(0.2)
                await asyncio.sleep(0.5)
                await _storm_across_workers(http, ops, server.port, url)
        finally:
            await server.stop()
            await _drop_keys(prefix)


async def _storm_across_workers(http: httpx.AsyncClient, ops: str, port: int, url: str) -> None:
    # 12 clients: the chance that the kernel hashes all of them to one worker is 1 in 2,048.
    async with storm(port, clients=12) as s:
        await asyncio.sleep(1.5)
        view = (await http.get(ops)).json()
        per_instance = {i: v["connections"] for i, v in view["instances"].items()}
        final = await converge(s, url)
        assert s.received <= final
        assert len(final) > 50
        # The kernel spread the clients: updates crossed Redis to converge.
        assert all(count > 0 for count in per_instance.values()), per_instance


async def test_cluster_streams_are_trimmed_by_length(tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    async with database("postgres", tmp_path) as url:
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "STORYARN_REDIS_PREFIX": prefix,
            "STORYARN_REDIS_STREAM_MAX_LEN": "20",
        }
        async with live_server(env) as one, yclient(one.ws_url(ROOM, token="a", ext="ack")) as a:
            for i in range(400):
                set_node(a.doc, f"n{i}", type="hub")
                await a.flush()
            await a.wait_for(lambda: bool(a.acks) and a.acks[-1] == 400, timeout=20)
            redis = Redis.from_url(REDIS_URL)
            try:
                length = await redis.xlen(f"{prefix}:room:{ROOM}:updates")
            finally:
                await redis.aclose()
            # Approximate trimming drops whole blocks of entries: bounded, not exact.
            assert 20 <= length < 200
        await _drop_keys(prefix)
