"""The release path without a container engine: wheel -> fresh venv -> migrate -> serve -> sync.

What the Dockerfile does, step for step: build the package, install it with the locked versions
of its dependencies into an environment of its own, run the release command and the server
from that environment, in a folder that is not the source tree, and edit a document through it.
pip reuses its cache, so only the first run on a machine downloads anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import httpx
import pytest
from pycrdt import Map

from persistence.migrate import head_revision
from tests.support.live_server import TEST_SECRET, free_port
from tests.support.yclient import yclient

ROOT = Path(__file__).resolve().parents[2]


async def run(*argv: str | Path, cwd: Path, env: dict[str, str], timeout: float) -> str:
    proc = await asyncio.create_subprocess_exec(
        *map(str, argv), cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, out.decode()[-4000:]
    return out.decode()


def clean_env(**extra: str) -> dict[str, str]:
    # Nothing that would let the source tree or the project's venv leak in.
    leaks = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")
    env = {k: v for k, v in os.environ.items() if k not in leaks and not k.startswith("STORYARN_")}
    env.update(extra)
    return env


@pytest.mark.timeout(900)  # a machine's first run downloads the dependencies
async def test_release_wheel_installs_migrates_serves_and_syncs(tmp_path: Path) -> None:
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "run"
    work.mkdir()
    env = clean_env()
    await run("uv", "build", "--wheel", "--out-dir", dist, cwd=ROOT, env=env, timeout=120)
    (wheel,) = dist.glob("storyarn-*.whl")
    constraints = tmp_path / "constraints.txt"
    await run(
        "uv", "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project",
        "--output-file", constraints, cwd=ROOT, env=env, timeout=60,
    )  # fmt: skip
    await run(sys.executable, "-m", "venv", venv, cwd=work, env=env, timeout=120)
    python, storyarn = venv / "bin" / "python", venv / "bin" / "storyarn"
    await run(
        python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
        "--constraint", constraints, wheel, cwd=work, env=env, timeout=600,
    )  # fmt: skip
    where = await run(
        python, "-c", "import server; print(server.__file__)", cwd=work, env=env, timeout=30
    )
    assert where.strip().startswith(str(venv))

    settings = clean_env(STORYARN_SECRET_KEY=TEST_SECRET, STORYARN_DATA_DIR="var")
    out = await run(
        storyarn, "db", "upgrade", cwd=work, env={**settings, "STORYARN_ENV": "test"}, timeout=60
    )
    assert f"database at revision {head_revision()}" in out
    assert (work / "var" / "storyarn.db").is_file()

    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        storyarn, "serve", "--port", str(port), cwd=work,
        env={**settings, "STORYARN_ENV": "development", "STORYARN_LOG_LEVEL": "warning"},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient() as http, asyncio.timeout(30):
            while True:
                assert proc.returncode is None, "the installed server exited"
                with contextlib.suppress(httpx.TransportError):
                    health = await http.get(f"http://127.0.0.1:{port}/health")
                    break
                await asyncio.sleep(0.1)
        assert health.status_code == 200, health.text
        room = f"ws://127.0.0.1:{port}/sync/projects/release/flows/f1"
        async with yclient(f"{room}?token=writer&ext=ack") as writer:
            writer.doc.get("nodes", type=Map)["n1"] = Map({"type": "dialogue", "text": "hello"})
            await writer.flush_acked()
            async with yclient(f"{room}?token=reader") as reader:
                nodes = reader.doc.get("nodes", type=Map)
                await reader.wait_for(lambda: "n1" in nodes.to_py())
                assert nodes.to_py()["n1"]["text"] == "hello"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
