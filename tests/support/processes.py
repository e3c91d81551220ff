"""Real server processes and throwaway databases for multi-process and crash tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from tests.conftest import POSTGRES_ADMIN_URL


class ServerProcess:
    def __init__(
        self, env: dict[str, str], port: int, *, extra_args: list[str] | None = None
    ) -> None:
        self.env = env
        self.port = port
        self.extra_args = extra_args or []
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(self.port),
            *self.extra_args,
            env={**os.environ, **self.env},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with httpx.AsyncClient() as http, asyncio.timeout(20):
            while True:
                if self.proc.returncode is not None:
                    raise AssertionError(f"server exited with {self.proc.returncode}")
                with contextlib.suppress(httpx.TransportError):
                    response = await http.get(f"http://127.0.0.1:{self.port}/health/live")
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 30)


@contextlib.asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        url = sqlite_url(tmp_path)
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url
        return
    name = f"storyarn_crash_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(statement: str) -> None:
    # A fresh connection each time: the database may have been restarted in between.
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


def postgres_cluster(action: str) -> None:
    versions = os.listdir("/etc/postgresql")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", action],
        check=True,
        capture_output=True,
        timeout=60,
    )
