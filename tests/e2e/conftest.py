"""The e2e suite needs Node.js and tests/e2e/node_modules (`npm ci --prefix tests/e2e`)."""

from __future__ import annotations

import pytest

from tests.e2e.harness import node_setup_problem


@pytest.fixture(scope="session", autouse=True)
def node_clients() -> None:
    problem = node_setup_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
