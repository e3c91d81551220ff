"""The identity commands end to end: real processes, a real database, a real server."""

import asyncio
import os
import sys
from pathlib import Path

import jwt
from pycrdt import Map
from sqlalchemy import text

from persistence.audit import AuditAction, AuditLog
from persistence.engine import create_engine, sqlite_url
from tests.server.conftest import set_node
from tests.support.cli import run_cli
from tests.support.live_server import TEST_SECRET, free_port, live_server
from tests.support.yclient import yclient


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "STORYARN_ENV": "test",
        "STORYARN_SECRET_KEY": TEST_SECRET,
        "STORYARN_DATA_DIR": str(tmp_path),
    }


async def test_cli_identity_commands_let_an_issued_token_edit(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert (await run_cli("db", "upgrade", env=env))[0] == 0
    code, out = await run_cli("project", "create", "The Tavern", env=env)
    assert code == 0, out
    project = out.strip()
    assert len(project) == 36  # a UUID, alone on stdout
    code, out = await run_cli("member", "set", project, "ann", "editor", env=env)
    assert (code, out.strip()) == (0, f"ann is editor in {project}")
    code, token = await run_cli("token", "issue", "ann", "--ttl", "120", env=env)
    assert code == 0
    token = token.strip()
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["exp"] - claims["iat"]) == ("ann", 120)
    async with (
        live_server(env) as srv,
        yclient(srv.ws_url(f"projects/{project}/flows/f1", token=token, ext="ack")) as client,
    ):
        set_node(client.doc, "n1", type="hub")
        await client.flush_acked()
        assert "n1" in client.doc.get("nodes", type=Map)
    engine = create_engine(sqlite_url(tmp_path))
    try:
        entries = await AuditLog(engine).for_project(project)
        actions = [(e.event.action, e.event.actor) for e in entries]
        assert actions == [
            (AuditAction.MEMBER_SET, "cli"),
            (AuditAction.PROJECT_CREATE, "cli"),
        ]
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT * FROM audit_log"))).all()
        assert any(row.action == "token.issue" and row.target == "ann" for row in rows)
        assert not any(token in " ".join(map(str, row)) for row in rows)  # never the token
    finally:
        await engine.dispose()


async def test_cli_identity_refusals_say_why(tmp_path: Path) -> None:
    env = _env(tmp_path)
    code, out = await run_cli("project", "create", "x", env=env)
    assert code == 2 and "storyarn db upgrade" in out
    assert (await run_cli("db", "upgrade", env=env))[0] == 0
    code, out = await run_cli("member", "set", "nope", "ann", "editor", env=env)
    assert code == 1 and "no project nope" in out
    code, out = await run_cli("member", "set", "nope", "ann", "admin", env=env)
    assert code == 2 and "invalid choice" in out
    code, out = await run_cli("token", "issue", "bad user", env=env)
    assert code == 1 and "user id" in out
    code, out = await run_cli("project", "create", "x", "--id", "p1", env=env)
    assert code == 0
    code, out = await run_cli("project", "create", "x", "--id", "p1", env=env)
    assert code == 1 and "already exists" in out
    code, out = await run_cli("member", "remove", "p1", "ann", env=env)
    assert code == 1 and "not a member" in out


async def test_cli_identity_workspaces(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert (await run_cli("db", "upgrade", env=env))[0] == 0
    code, ws = await run_cli("workspace", "create", "Studio", "--id", "studio", env=env)
    assert (code, ws.strip()) == (0, "studio")
    code, out = await run_cli("workspace", "member", "set", "studio", "vic", "viewer", env=env)
    assert code == 0, out
    code, out = await run_cli(
        "project", "create", "P", "--id", "wp", "--workspace", "studio", env=env
    )
    assert code == 0, out
    token = (await run_cli("token", "issue", "vic", env=env))[1].strip()
    async with live_server(env) as srv:
        # A workspace viewer is a project viewer: the document does not exist, so 4404.
        async with yclient(srv.ws_url("projects/wp/flows/f1", token=token), sync=False) as c:
            assert await c.wait_closed() == 4404
        async with yclient(srv.ws_url("projects/wp/tree", token=token), sync=False) as c:
            assert await c.wait_closed() == 4404
    code, out = await run_cli("workspace", "member", "remove", "studio", "vic", env=env)
    assert code == 0, out


async def test_cli_identity_development_serve_prints_a_token(tmp_path: Path) -> None:
    env = {"STORYARN_ENV": "development", "STORYARN_DATA_DIR": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(free_port()),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert b"Development token for user 'developer'" in first
        token = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode().strip()
        secret = "development-only-insecure-key-0000"  # noqa: S105 - the public placeholder
        assert jwt.decode(token, secret, algorithms=["HS256"])["sub"] == "developer"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.communicate(), 20)
