"""A real `storyarn worker` process with the Redis broker and Postgres, beside a server that
only enqueues: the export runs in the worker, and the worker stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from persistence.identity import ProjectRole
from server.job_progress import JOBS_CLIENT_ID
from tests.support.live_server import TEST_SECRET, free_port, live_server
from tests.support.tokens import make_token, seed_project
from tests.support.yclient import yclient
from tests.workers.export_support import auth, check_archive, sample_docs, store_docs, wait_job

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"storyarn-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def _start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "worker",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_worker_process_runs_exports_from_redis(
    postgres_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = {
        "STORYARN_ENV": "test",
        "STORYARN_SECRET_KEY": TEST_SECRET,
        "STORYARN_DATA_DIR": str(tmp_path),  # the local blob folder both processes share
        "DATABASE_URL": postgres_url,
        "REDIS_URL": REDIS_URL,
        "STORYARN_REDIS_PREFIX": redis_prefix,
        "STORYARN_API_RATE_PER_ADDRESS": "0",
        "STORYARN_API_RATE_PER_USER": "0",
    }
    project = f"p-{uuid.uuid4().hex[:8]}"
    async with live_server(env) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, project, {"ed": ProjectRole.EDITOR})
        docs = sample_docs(project)
        await store_docs(srv.services.store, docs)
        # Enqueued before any worker runs: the worker's consumer group still finds it.
        response = await http.post(
            f"/api/v1/projects/{project}/exports", json={"format": "storyarn"}, headers=auth("ed")
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["job"]["id"]
        assert response.json()["job"]["status"] == "queued"
        metrics_port = free_port()
        worker = await _start_worker({**env, "STORYARN_WORKER_METRICS_PORT": str(metrics_port)})
        try:
            tree = srv.ws_url(f"projects/{project}/tree", token=make_token("ed"))
            async with yclient(tree) as client:
                job = await wait_job(http, job_id, "ed")
                assert job["status"] == "done", job
                # The worker's progress, relayed by the server to its tree room's clients.
                await client.wait_for(lambda: '"done"' in client.awareness.get(JOBS_CLIENT_ID, ""))
            download = await http.get(job["download_url"])
            assert download.status_code == 200
            check_archive(download.content, project, docs)
            # The worker counts the jobs it ran, on its own metrics port.
            scraped = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
            assert 'storyarn_jobs_total{outcome="done",task="export"} 1.0' in scraped.text
        finally:
            if worker.returncode is None:
                worker.terminate()
            _out, err = await asyncio.wait_for(worker.communicate(), 30)
        assert worker.returncode == 0, err.decode()[-2000:]
        assert b"worker_stopped" in err


async def test_worker_process_refuses_to_start_without_redis(tmp_path: Path) -> None:
    worker = await _start_worker(
        {"STORYARN_ENV": "test", "STORYARN_SECRET_KEY": TEST_SECRET, "REDIS_URL": ""}
    )
    _out, err = await asyncio.wait_for(worker.communicate(), 30)
    assert worker.returncode == 2
    assert b"REDIS_URL" in err
