import asyncio
import os
import resource
import sys
from pathlib import Path

import httpx

from persistence.migrate import head_revision
from tests.support.live_server import TEST_SECRET, free_port


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode()


async def test_cli_refuses_placeholder_secret_in_production() -> None:
    code, out = await _run("serve", env={"STORYARN_ENV": "production"})
    assert code == 2
    assert "STORYARN_SECRET_KEY" in out


async def test_cli_workers_without_redis_says_why() -> None:
    code, out = await _run("serve", "--workers", "2", env={"STORYARN_ENV": "development"})
    assert code == 2
    assert "Redis" in out


async def test_cli_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {"STORYARN_ENV": "test", "STORYARN_SECRET_KEY": TEST_SECRET}
    code, out = await _run("serve", env={**env, "STORYARN_DATA_DIR": str(tmp_path)})
    assert code != 0
    assert "storyarn db upgrade" in out


def _low_descriptor_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))


def _open_files_soft_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files line")


async def test_cli_serve_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {
        "STORYARN_ENV": "test",
        "STORYARN_SECRET_KEY": TEST_SECRET,
        "STORYARN_DATA_DIR": str(tmp_path),
    }
    code, out = await _run("db", "upgrade", env=env)
    assert code == 0, out
    assert f"revision {head_revision()}" in out
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(port),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        preexec_fn=_low_descriptor_limit,  # what many hosts start a service with
    )
    try:
        async with httpx.AsyncClient() as client:
            async with asyncio.timeout(20):
                while True:
                    try:
                        live = await client.get(f"http://127.0.0.1:{port}/health/live")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.1)
            assert live.status_code == 200
            assert live.json()["status"] == "ok"
            ready = await client.get(f"http://127.0.0.1:{port}/health")
            assert ready.status_code == 200
        # Every websocket is a descriptor: serve lifts the soft limit to the hard one.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        expected = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        assert _open_files_soft_limit(proc.pid) == expected > 256
    finally:
        proc.terminate()
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why.
    assert proc.returncode == -15
    # JSON log lines outside development; uvicorn's own lines go through the same set-up.
    assert b'"event": "rooms_shut_down"' in out
