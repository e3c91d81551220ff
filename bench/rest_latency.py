"""Latency of the REST read routes under 50 concurrent clients, on Postgres.

    uv run python bench/rest_latency.py [--postgres URL] [--clients 50] [--seconds 20]

Creates a database of its own next to the one URL names, migrates it, and seeds one large
project straight into the projection tables with `bench/seed_large_project.py` (2,000 pages,
300 flows of 200 nodes, 5 locales, and a second project beside it). Adds the identity rows, a
live flow of 100 dialogue nodes made through the REST API itself, then starts `storyarn serve`
(one process) and runs `--clients` concurrent clients, each looping over the read routes for
`--seconds`. Prints p50/p95/p99 per route and the overall rate; drops the database at the end.

The clients are asyncio tasks in this process, each on its own keep-alive connection, speaking
bare HTTP/1.1 (far cheaper than an HTTP library); on one machine they still share the CPU with
the server and Postgres, so the figures are an upper bound on what the server adds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import jwt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seed_large_project import Project, seed

from persistence.engine import create_engine
from persistence.identity import Actor, IdentityStore, ProjectRole
from persistence.migrate import upgrade

SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a throwaway server
PROJECT = "big-project"
P = f"/api/v1/projects/{PROJECT}"
ROUTES = {
    "tree (first 100)": f"{P}/tree?limit=100",
    "tree children": f"{P}/tree?parent_id=g000003&limit=100",
    "flow summary": f"{P}/flows/f000007",
    "flow nodes (100)": f"{P}/flows/f000007/nodes?limit=100",
    "flow connections (100)": f"{P}/flows/f000007/connections?limit=100",
    "texts fr pending (100)": f"{P}/locales/fr/texts?status=pending&limit=100",
    "backlinks of a page": f"{P}/pages/g000001/backlinks?limit=100",
    "live flow document": f"{P}/flows/live/document",
    "live page": f"{P}/pages/livepage",
    "versions": f"{P}/flows/live/versions",
    "me": f"{P}/me",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _token(user: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": user, "iat": now, "exp": now + 7200}, SECRET, algorithm="HS256")


@contextlib.asynccontextmanager
async def _database(admin_url: str) -> AsyncIterator[str]:
    name = f"storyarn_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _prepare(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        actor = Actor("bench", None)
        identity = IdentityStore(engine)
        await identity.create_project(PROJECT, actor=actor, project_id=PROJECT)
        await identity.set_member(PROJECT, "reader", ProjectRole.EDITOR, actor=actor)
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rng = random.Random(42)
        big = Project(PROJECT, pages=2000, flows=300, nodes=200, rng=rng)
        other = Project("other-project", pages=400, flows=60, nodes=200, rng=rng)
        started = time.perf_counter()
        counts = await seed(conn, [big, other])
        print(f"seeded in {time.perf_counter() - started:.1f} s: {counts}")
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def _server(url: str, port: int) -> AsyncIterator[None]:
    env = {
        **os.environ,
        "STORYARN_ENV": "test",
        "STORYARN_SECRET_KEY": SECRET,
        "DATABASE_URL": url,
        "STORYARN_DATA_DIR": tempfile.mkdtemp(prefix="storyarn-bench-"),
        "STORYARN_API_RATE_PER_ADDRESS": "0",  # one address sends everything here
        "STORYARN_API_RATE_PER_USER": "0",
        "STORYARN_LOG_LEVEL": "warning",
        "STORYARN_DATABASE_POOL_SIZE": "20",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "serve", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient() as http, asyncio.timeout(30):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"http://127.0.0.1:{port}/health/live")).is_success:
                        break
                await asyncio.sleep(0.1)
        yield
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


async def _live_documents(http: httpx.AsyncClient) -> None:
    """A real flow (100 dialogue nodes, chained) and page, made through the API itself."""
    (await http.post(f"{P}/flows", json={"id": "live", "name": "Live"})).raise_for_status()
    (await http.post(f"{P}/pages", json={"id": "livepage", "name": "Live page"})).raise_for_status()
    previous, pin = "entry", "output"
    for i in range(100):
        node = {
            "id": f"d{i}",
            "type": "dialogue",
            "x": i * 10,
            "data": {"text": f"<p>Line {i}</p>"},
        }
        (await http.post(f"{P}/flows/live/nodes", json=node)).raise_for_status()
        link = {"source_node_id": previous, "source_pin": pin, "target_node_id": f"d{i}"}
        (await http.post(f"{P}/flows/live/connections", json=link)).raise_for_status()
        previous = f"d{i}"
    (await http.post(f"{P}/flows/live/versions", json={"name": "bench"})).raise_for_status()


class _Connection:
    """A bare HTTP/1.1 keep-alive connection: a load generator light enough not to be measured.

    httpx costs about a millisecond of client CPU a request; on two shared cores that would be
    most of what a run measures.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, auth: str):
        self._reader, self._writer, self._auth = reader, writer, auth

    @classmethod
    async def open(cls, port: int, auth: str) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, auth)

    async def get(self, path: str) -> tuple[int, bytes]:
        self._writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {self._auth}\r\n\r\n".encode()
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


async def _client(
    port: int, auth: str, deadline: float, samples: dict[str, list[float]], errors: list[str]
) -> None:
    conn = await _Connection.open(port, auth)
    names = list(ROUTES)
    random.shuffle(names)
    i = 0
    try:
        while time.monotonic() < deadline:
            name = names[i % len(names)]
            i += 1
            started = time.perf_counter()
            status, body = await conn.get(ROUTES[name])
            elapsed = time.perf_counter() - started
            if status != 200:
                errors.append(f"{name}: {status} {body[:200]!r}")
                continue
            samples[name].append(elapsed)
    finally:
        await conn.close()


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    async with _database(args.postgres) as url:
        await _prepare(url)
        port = _free_port()
        async with _server(url, port):
            headers = {"Authorization": f"Bearer {_token('reader')}"}
            limits = httpx.Limits(
                max_connections=args.clients, max_keepalive_connections=args.clients
            )
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits, timeout=30
            ) as http:
                await _live_documents(http)
                for path in ROUTES.values():  # warm: load the live rooms, fill the pool
                    (await http.get(path)).raise_for_status()
            samples: dict[str, list[float]] = {name: [] for name in ROUTES}
            errors: list[str] = []
            started = time.monotonic()
            deadline = started + args.seconds
            auth = headers["Authorization"]
            await asyncio.gather(
                *(_client(port, auth, deadline, samples, errors) for _ in range(args.clients))
            )
            wall = time.monotonic() - started
    total = sum(len(v) for v in samples.values())
    print(f"{args.clients} clients, {wall:.1f} s, {total} requests, {total / wall:.0f} req/s, "
          f"{len(errors)} errors")  # fmt: skip
    for error in errors[:5]:
        print("  error:", error)
    print(f"{'route':28} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, values in samples.items():
        p50, p95, p99 = _quantiles(values)
        print(f"{name:28} {len(values):6d} {p50:8.1f} {p95:8.1f} {p99:8.1f}")
    p50, p95, p99 = _quantiles([v for values in samples.values() for v in values])
    print(f"{'all':28} {total:6d} {p50:8.1f} {p95:8.1f} {p99:8.1f}")


if __name__ == "__main__":
    asyncio.run(main())
