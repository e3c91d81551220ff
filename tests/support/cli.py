"""The `storyarn` command as a real subprocess, for end-to-end tests of the CLI."""

from __future__ import annotations

import asyncio
import os
import sys


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Exit status and stdout + stderr of `storyarn ARGS` with `env` over ours."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, (out + err).decode()
