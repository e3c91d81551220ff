"""A real server process for the operations tests: `python -m tests.support.ops_app PORT`.

The app is `create_app`'s, configured by the environment like `storyarn serve` (logging, error
reporting), with a fixed token table instead of JWTs, and a few routes that fail on purpose:
- GET /test/crash: authenticates (binding user and project), then raises: a real crash;
- GET /test/expected: raises `DocumentNotFound`, an error that is part of normal operation;
- GET /test/disconnect: raises `ClientDisconnect`, as a request whose client went away;
- documents whose id starts with "crash" fail every commit with a bug (`room_commit_bug`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from crdt.schema import DocKey
from persistence.memory import MemoryDocumentStore
from persistence.store import PendingUpdate
from server.app import create_app
from server.auth import Principal, Role, StaticAuthenticator
from server.cli import uvicorn_config
from server.error_reporting import init_error_reporting
from server.http_auth import authenticate
from server.logging import configure_logging
from server.rooms import DocumentNotFound
from server.settings import load_settings

TOKEN = "secret-token-0123456789abcdef"  # noqa: S105 - a test token that must never be logged
AUTHENTICATOR = StaticAuthenticator({TOKEN: Principal("alice", Role.EDITOR)})


class CrashingStore(MemoryDocumentStore):
    async def append(self, key: DocKey, updates: Sequence[PendingUpdate]) -> int:
        if key.doc_id.startswith("crash"):
            raise ZeroDivisionError("a deliberate bug in the store")
        return await super().append(key, updates)


async def crash(request: Request) -> Response:
    await authenticate(request, AUTHENTICATOR, "p1", write=False)
    raise RuntimeError("a deliberate crash")


async def expected(request: Request) -> Response:
    raise DocumentNotFound("projects/p1/flows/missing")


async def disconnect(request: Request) -> Response:
    raise ClientDisconnect()


def main(port: int) -> None:
    settings = load_settings(os.environ)
    configure_logging(settings)
    init_error_reporting(settings)
    app = create_app(settings, authenticator=AUTHENTICATOR, store=CrashingStore())
    for path, endpoint in (
        ("/test/crash", crash),
        ("/test/expected", expected),
        ("/test/disconnect", disconnect),
    ):
        app.router.routes.insert(0, Route(path, endpoint))  # before the web app's catch-all
    uvicorn.Server(uvicorn_config(settings, "127.0.0.1", port, app)).run()


@contextlib.asynccontextmanager
async def ops_server(env: dict[str, str], port: int, log_file: Path) -> AsyncIterator[None]:
    """Run this module as a process (stderr, its log, to `log_file`) until the block ends."""
    environ = {**os.environ, "STORYARN_ENV": "test", "STORYARN_STORE": "memory", **env}
    with log_file.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.ops_app", str(port),
            env=environ, stdout=stderr, stderr=stderr,
        )  # fmt: skip
        try:
            async with httpx.AsyncClient() as http, asyncio.timeout(20):
                while True:
                    if proc.returncode is not None:
                        raise AssertionError(f"the server exited; its log: {log_file}")
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get(f"http://127.0.0.1:{port}/health/live")).is_success:
                            break
                    await asyncio.sleep(0.05)
            yield
        finally:
            if proc.returncode is None:
                proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)


if __name__ == "__main__":
    main(int(sys.argv[1]))
