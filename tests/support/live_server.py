"""A real uvicorn serving our app on a free loopback port, inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import uvicorn

from persistence.blobs import BlobStore
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.store import DocumentStore
from server.app import Services, create_app
from server.auth import Authenticator
from server.cli import uvicorn_config
from server.settings import load_settings

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"  # noqa: S105


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    host: str
    port: int
    services: Services
    server: uvicorn.Server

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://{self.host}:{self.port}/sync"

    def ws_url(self, room: str, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{self.ws_base}/{room}" + (f"?{query}" if query else "")


@contextlib.asynccontextmanager
async def live_server(
    env: Mapping[str, str] | None = None,
    *,
    authenticator: Authenticator | None = None,
    store: DocumentStore | None = None,
    blobs: BlobStore | None = None,
) -> AsyncIterator[LiveServer]:
    data_dir = tempfile.mkdtemp(prefix="storyarn-test-")
    environ = {
        "STORYARN_ENV": "development",
        "STORYARN_SECRET_KEY": TEST_SECRET,
        "STORYARN_DATA_DIR": data_dir,
    }
    environ.update(env or {})
    settings = load_settings(environ)
    if settings.store == "sql" and not settings.database_url:
        # What the release step (`storyarn db upgrade`) does before a non-development start.
        engine = create_engine(sqlite_url(settings.data_dir))
        await upgrade(engine)
        await engine.dispose()
    app = create_app(settings, authenticator=authenticator, store=store, blobs=blobs)
    port = free_port()
    config = uvicorn_config(settings, "127.0.0.1", port, app)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield LiveServer("127.0.0.1", port, app.state.services, server)
    finally:
        server.should_exit = True
        async with asyncio.timeout(15):
            await task
        shutil.rmtree(data_dir, ignore_errors=True)
