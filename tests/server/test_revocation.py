"""Revocation reaches every instance (Redis signal) and every writer (the CLI, via the poll)."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from redis.asyncio import Redis

from persistence.identity import ProjectRole
from server.auth import Principal, Role
from server.close_codes import CloseCode
from server.connection import Connection, ConnectionLimits
from server.sessions import SessionRegistry
from tests.support.cli import run_cli
from tests.support.live_server import TEST_SECRET, live_server
from tests.support.tokens import make_token, seed_project
from tests.support.yclient import yclient

REDIS_URL = "redis://127.0.0.1:6379/0"


@contextlib.asynccontextmanager
async def _redis_prefix() -> AsyncIterator[str]:
    prefix = f"storyarn-test-{uuid.uuid4().hex[:8]}"
    try:
        yield prefix
    finally:
        redis = Redis.from_url(REDIS_URL)
        keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_revocation_reaches_another_instance_within_a_second(postgres_url: str) -> None:
    project = f"p{uuid.uuid4().hex[:10]}"
    room = f"projects/{project}/flows/f1"
    async with _redis_prefix() as prefix:
        env = {
            "STORYARN_ENV": "test",
            "DATABASE_URL": postgres_url,
            "REDIS_URL": REDIS_URL,
            "STORYARN_REDIS_PREFIX": prefix,
            "STORYARN_ACCESS_POLL_SECONDS": "0",  # only the fan-out signal may do it
        }
        async with live_server(env) as one, live_server(env) as two:
            await seed_project(one, project, {"ow": ProjectRole.OWNER, "ed": ProjectRole.EDITOR})
            owner = {"Authorization": f"Bearer {make_token('ow')}"}
            async with (
                yclient(two.ws_url(room, token=make_token("ed"))) as editor,
                httpx.AsyncClient(base_url=one.base_url, headers=owner) as http,
            ):
                response = await http.put(
                    f"/api/v1/projects/{project}/members/ed", json={"role": "viewer"}
                )
                assert response.status_code == 200
                started = time.monotonic()
                assert await editor.wait_closed(timeout=1) == 4403
                assert time.monotonic() - started < 1


async def test_revocation_by_the_cli_cuts_a_live_session(tmp_path: Path) -> None:
    env = {
        "STORYARN_ENV": "test",
        "STORYARN_SECRET_KEY": TEST_SECRET,
        "STORYARN_DATA_DIR": str(tmp_path),
    }
    async with live_server(env) as srv:
        await seed_project(srv, "p1", {"ed": ProjectRole.EDITOR})
        async with yclient(srv.ws_url("projects/p1/tree", token=make_token("ed"))) as editor:
            code, out = await run_cli("member", "remove", "p1", "ed", env=env)
            assert code == 0, out
            started = time.monotonic()
            assert await editor.wait_closed(timeout=2) == 4403
            assert time.monotonic() - started < 1


def _conn(conn_id: int, user: str, role: Role) -> Connection:
    async def send(_: bytes) -> None:
        return None

    async def close(_: int, __: str) -> None:
        return None

    limits = ConnectionLimits(10, 1000, 1, 1, 1, 1, 1, 1)
    return Connection(conn_id, Principal(user, role), send, close, limits)


async def test_revocation_during_authentication_refuses_the_session() -> None:
    registry = SessionRegistry()
    authenticating_since = time.monotonic()
    registry.revoke("ann", "p1", Role.VIEWER)  # lands while "ann" still reads the old role
    stale = _conn(16, "ann", Role.EDITOR)
    with registry.session(stale, "p1", authenticated_since=authenticating_since):
        assert stale.close_code == CloseCode.FORBIDDEN
    fresh = _conn(17, "ann", Role.VIEWER)  # read the new role: fine
    with registry.session(fresh, "p1", authenticated_since=authenticating_since):
        assert fresh.close_code is None
    later = _conn(18, "ann", Role.EDITOR)  # authenticated after: re-granted since, fine
    with registry.session(later, "p1", authenticated_since=time.monotonic()):
        assert later.close_code is None
    await asyncio.sleep(0)


async def test_revocation_closes_only_that_users_sessions_in_that_project() -> None:
    registry = SessionRegistry()
    sessions = {
        "ann-p1": _conn(16, "ann", Role.EDITOR),
        "ann-p2": _conn(17, "ann", Role.EDITOR),
        "bob-p1": _conn(18, "bob", Role.EDITOR),
        "ann-p1-viewer": _conn(19, "ann", Role.VIEWER),
    }
    with contextlib.ExitStack() as stack:
        for name, conn in sessions.items():
            project = name.split("-")[1]
            stack.enter_context(registry.session(conn, project, authenticated_since=0))
        assert registry.revoke("ann", "p1", Role.VIEWER) == 1
        closed = {name for name, conn in sessions.items() if conn.closing}
        assert closed == {"ann-p1"}
        assert registry.revoke("ann", "p1", None) == 1  # removal: the viewer goes too
    assert registry.count("ann") == 0
