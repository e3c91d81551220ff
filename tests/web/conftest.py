"""The browser tests need Node.js, tests/web/node_modules, Debian's chromium, and a fresh build
of the web app (`npm run build --prefix web`, run once per session here)."""

from __future__ import annotations

import pytest

from tests.web.harness import build_web, setup_problem


@pytest.fixture(scope="session", autouse=True)
def web_build() -> None:
    problem = setup_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    build_web()
