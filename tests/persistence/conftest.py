from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from persistence.engine import create_engine, sqlite_url
from persistence.memory import MemoryDocumentStore
from persistence.migrate import upgrade
from persistence.sql_store import SqlDocumentStore
from persistence.store import DocumentStore


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[DocumentStore]:
    """Every contract test runs against each implementation."""
    if request.param == "memory":
        yield MemoryDocumentStore()
        return
    url = sqlite_url(tmp_path) if request.param == "sqlite" else postgres_url
    engine = create_engine(url)
    if request.param == "sqlite":
        await upgrade(engine)
    try:
        yield SqlDocumentStore(engine)
    finally:
        await engine.dispose()
