"""Drive the Playwright scenarios in tests/web/js from pytest.

A scenario is a Node script (`js/<name>.mjs`) that drives Debian's chromium through
playwright-core against a live server. It prints JSON lines: `{"checkpoint": name, ...}` when it
wants the test to act (gate the store, read the server's document) and waits for the test's JSON
answer on stdin; its last line is `{"ok": true, ...}` or `{"ok": false, "error": ...}`.
Every scenario runs under a timeout and is killed when it overruns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
JS = Path(__file__).resolve().parent / "js"
NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
CHROMIUM = Path("/usr/bin/chromium")

Checkpoint = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def setup_problem() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are needed: run scripts/bootstrap --with-node"
    if not (WEB / "node_modules").is_dir():
        return (
            "web/node_modules is missing: run `npm ci --prefix web` (scripts/bootstrap --with-node)"
        )
    if not (NODE_MODULES / "playwright-core").is_dir():
        return "tests/web/node_modules is missing: run `npm ci --prefix tests/web`"
    if not CHROMIUM.exists():
        return "chromium is missing: `apt-get install chromium` (scripts/bootstrap --with-node)"
    return None


def build_web() -> None:
    """`npm run build` in web/, bounded; fails the session with the build's output."""
    try:
        result = subprocess.run(
            ["npm", "run", "build", "--prefix", str(WEB)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("npm run build did not finish within 300 s") from exc
    if result.returncode != 0:
        raise AssertionError(f"npm run build failed:\n{result.stdout}\n{result.stderr}")


async def _no_checkpoints(name: str, data: dict[str, Any]) -> dict[str, Any]:
    raise AssertionError(f"unexpected checkpoint {name!r}: {data}")


async def run_scenario(
    name: str,
    *,
    server: str,
    on_checkpoint: Checkpoint = _no_checkpoints,
    timeout: float = 90.0,
    **options: str,
) -> dict[str, Any]:
    """Run `js/<name>.mjs --server URL --key value ...`; return its final JSON result."""
    args = [str(JS / f"{name}.mjs"), "--server", server]
    for key, value in options.items():
        args += [f"--{key}", value]
    proc = await asyncio.create_subprocess_exec(
        "node",
        *args,
        cwd=str(ROOT),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=16 * 1024 * 1024,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stderr_task = asyncio.ensure_future(proc.stderr.read())
    result: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                line = await proc.stdout.readline()
                if not line:
                    break
                message = json.loads(line)
                if "checkpoint" in message:
                    answer = await on_checkpoint(message.pop("checkpoint"), message)
                    proc.stdin.write((json.dumps(answer) + "\n").encode())
                    await proc.stdin.drain()
                else:
                    result = message
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        stderr = (await stderr_task).decode(errors="replace")
        raise AssertionError(f"scenario {name} timed out after {timeout} s\n{stderr}") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
    stderr = (await stderr_task).decode(errors="replace")
    if result is None:
        raise AssertionError(
            f"scenario {name} printed no result (exit {proc.returncode})\n{stderr}"
        )
    if not result.get("ok"):
        raise AssertionError(
            f"scenario {name} failed: {result.get('error')}\n"
            f"page errors: {result.get('pageErrors')}\n{stderr}"
        )
    return result
