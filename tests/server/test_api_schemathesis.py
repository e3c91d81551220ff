"""Schemathesis drives the OpenAPI document against a live server: no 5xx, answers as documented.

The server is a real `storyarn serve` process on SQLite, with a project whose owner the run
calls as. Bounded (examples per operation, total time) so the run takes well under a minute.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from persistence.engine import create_engine
from persistence.identity import IdentityStore, ProjectRole
from tests.support.live_server import TEST_SECRET, free_port
from tests.support.processes import ServerProcess, database
from tests.support.tokens import TEST_ACTOR, make_token

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


async def _seed(url: str) -> None:
    engine = create_engine(url)
    try:
        identity = IdentityStore(engine)
        await identity.create_project("demo", actor=TEST_ACTOR, project_id="demo")
        await identity.set_member("demo", "ann", ProjectRole.OWNER, actor=TEST_ACTOR)
        await identity.set_member("demo", "bob", ProjectRole.VIEWER, actor=TEST_ACTOR)
    finally:
        await engine.dispose()


async def _content(http: httpx.AsyncClient) -> None:
    """What the documented examples name: a flow with a node and a connection, a page."""
    base = "/api/v1/projects/demo"
    for response in (
        await http.post(f"{base}/flows", json={"id": "intro", "name": "Intro"}),
        await http.post(f"{base}/pages", json={"id": "cast", "name": "Cast"}),
        await http.post(f"{base}/flows/intro/nodes", json={"id": "n1", "type": "hub"}),
        await http.post(
            f"{base}/flows/intro/connections",
            json={
                "id": "c1",
                "source_node_id": "entry",
                "source_pin": "output",
                "target_node_id": "n1",
            },
        ),
        await http.post(f"{base}/flows/intro/versions", json={"name": "first"}),
    ):
        assert response.status_code in (200, 201), response.text


async def test_api_schemathesis_finds_no_server_error(tmp_path: Path) -> None:
    port = free_port()
    async with database("sqlite", tmp_path) as url:
        await _seed(url)
        env = {
            "STORYARN_ENV": "test",
            "STORYARN_SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": url,
            "STORYARN_DATA_DIR": str(tmp_path),
            "STORYARN_API_RATE_PER_ADDRESS": "0",  # the run is one client sending fast
            "STORYARN_API_RATE_PER_USER": "0",
            "STORYARN_LOG_LEVEL": "warning",
            "STORYARN_ADMIN_USERS": "ann",
        }
        server = ServerProcess(env, port)
        await server.start()
        token = make_token("ann")
        try:
            base_url = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=base_url, headers=headers) as http:
                await _content(http)
            # Membership changes last: fuzzing them can remove the very owner the run calls as.
            run = (base_url, token, tmp_path)
            first = await _schemathesis(*run, 25, "--exclude-tag", "members")
            second = await _schemathesis(*run, 8, "--include-tag", "members")
        finally:
            await server.stop()
    for returncode, output in (first, second):
        assert returncode == 0, output[-12000:]


async def _schemathesis(
    base_url: str, token: str, workdir: Path, seconds: int, *filters: str
) -> tuple[int | None, str]:
    runner = Path(sys.executable).parent / "schemathesis"
    proc = await asyncio.create_subprocess_exec(
        str(runner), "run", f"{base_url}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "8",
        "--max-time", str(seconds),
        "--workers", "1",  # threads trip a CPython 3.11 AST bug inside hypothesis
        "--seed", "20261125",
        "--no-shrink",
        "--request-timeout", "10",
        "--output-truncate", "true",
        *filters,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,  # its crash cache stays out of the repository and out of other runs
    )  # fmt: skip
    async with asyncio.timeout(seconds + 30):
        output, _ = await proc.communicate()
    return proc.returncode, output.decode(errors="replace")
