"""The worker runtime on a database of its own (SQLite and Postgres) and a local blob folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from persistence.blobs import LocalBlobStore
from persistence.engine import create_engine
from persistence.jobs import JobStore
from persistence.sql_store import SqlDocumentStore
from tests.support.processes import database
from workers.config import WorkerConfig
from workers.runtime import Runtime


@pytest.fixture(params=["sqlite", "postgres"])
async def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtime]:
    # A database of its own: the cleanup sweeps every project, and its counts are asserted.
    async with database(request.param, tmp_path) as url:
        engine = create_engine(url)
        config = WorkerConfig(
            job_result_retention_seconds=0,
            job_stale_seconds=3600,
            auto_version_retention_seconds=1e-6,
            compact_idle_seconds=1e-6,
        )
        store = SqlDocumentStore(engine)
        blobs = LocalBlobStore(tmp_path / "blobs")
        yield Runtime(config, engine, store, JobStore(engine), blobs)
        await engine.dispose()
