"""Compile and play ink with the inkjs compiler (tests/e2e/js/ink_play.mjs) from pytest."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

E2E_DIR = Path(__file__).resolve().parents[2] / "e2e"
SCRIPT = E2E_DIR / "js" / "ink_play.mjs"


def play(source: str, *picks: int) -> dict[str, Any]:
    """Compile `source` and play it picking `picks`: errors, lines, choices offered, ended."""
    if shutil.which("node") is None or not (E2E_DIR / "node_modules" / "inkjs").is_dir():
        pytest.fail("inkjs is missing: run `npm ci --prefix tests/e2e`", pytrace=False)
    done = subprocess.run(
        ["node", str(SCRIPT), *map(str, picks)],
        input=source,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
