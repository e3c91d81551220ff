"""Exports and jobs through the REST API, with the in-process broker on SQLite."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import httpx
from taskiq import AsyncBroker, InMemoryBroker

from persistence.assets import Asset, AssetStore
from persistence.engine import create_engine, sqlite_url
from persistence.identity import ProjectRole
from persistence.jobs import JobStatus
from server.background import Background
from server.job_progress import JOBS_CLIENT_ID, STATE_KEY
from tests.support.live_server import LiveServer, live_server
from tests.support.tokens import make_token, seed_project
from tests.support.yclient import yclient
from tests.workers.export_support import auth, check_archive, sample_docs, store_docs, wait_job
from workers.export_formats import FORMATS
from workers.tasks import enqueue_export

ENV = {
    "STORYARN_ENV": "test",
    "STORYARN_API_RATE_PER_ADDRESS": "0",
    "STORYARN_API_RATE_PER_USER": "0",
}
MEMBERS = {"ow": ProjectRole.OWNER, "ed": ProjectRole.EDITOR, "vi": ProjectRole.VIEWER}


def _background(srv: LiveServer) -> tuple[Background, AsyncBroker]:
    background = srv.services.background
    assert background is not None and background.broker is not None
    return background, background.broker


async def test_exports_storyarn_archive_reproduces_every_document() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        docs = sample_docs("p1")
        await store_docs(srv.services.store, docs)
        picture = await _add_asset(srv, "a1", "portrait ä.png", b"\x89PNG not really" * 1000)
        await _add_asset(srv, "a2", "lost.png", None)
        response = await http.post(
            "/api/v1/projects/p1/exports", json={"format": "storyarn"}, headers=auth("ed")
        )
        assert response.status_code == 202, response.text
        started = response.json()["job"]
        assert started["status"] in ("queued", "running")
        assert response.headers["location"] == f"/api/v1/jobs/{started['id']}"
        job = await wait_job(http, started["id"], "vi")  # any member may follow it
        assert job["status"] == "done", job
        assert job["percent"] == 100
        assert job["created_by"] == "ed"
        assert job["filename"].endswith(".zip")
        download = await http.get(job["download_url"])  # signed: no token needed
        assert download.status_code == 200
        assert download.headers["content-disposition"].startswith("attachment;")
        assert len(download.content) == job["size"]
        check_archive(download.content, "p1", docs)
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assets = json.loads(archive.read("manifest.json"))["assets"]
            by_id = {a["id"]: a for a in assets}
            assert by_id["a1"]["filename"] == "portrait ä.png"
            assert archive.read(by_id["a1"]["path"]) == picture
            assert by_id["a2"]["missing"] is True and by_id["a2"]["path"] is None


async def _add_asset(srv: LiveServer, asset_id: str, filename: str, data: bytes | None) -> bytes:
    """An asset row, and its bytes in the blob store unless `data` is None (a lost file)."""
    blobs = srv.services.blobs
    assert blobs is not None
    digest = hashlib.sha256(data or b"").hexdigest()
    key = f"projects/p1/assets/{digest}" if data is not None else "projects/p1/assets/gone"
    if data is not None:
        await blobs.put(key, data, "image/png")
    engine = create_engine(sqlite_url(srv.services.settings.data_dir))
    try:
        await AssetStore(engine).add(
            Asset(
                "p1",
                asset_id,
                filename,
                "image/png",
                len(data or b""),
                key,
                digest,
                {},
                "ed",
                datetime.now(UTC),
            )
        )
    finally:
        await engine.dispose()
    return data or b""


async def test_exports_refuse_viewers_outsiders_and_bad_links() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        await seed_project(srv, "p2", {"out": ProjectRole.OWNER})
        body = {"format": "storyarn"}
        viewer = await http.post("/api/v1/projects/p1/exports", json=body, headers=auth("vi"))
        assert viewer.status_code == 403
        outsider = await http.post("/api/v1/projects/p1/exports", json=body, headers=auth("out"))
        assert outsider.status_code == 403
        unknown = await http.post(
            "/api/v1/projects/p1/exports", json={"format": "pdf"}, headers=auth("ed")
        )
        assert unknown.status_code == 422
        started = await http.post("/api/v1/projects/p1/exports", json=body, headers=auth("ow"))
        job_id = started.json()["job"]["id"]
        job = await wait_job(http, job_id, "ow")
        assert (await http.get(f"/api/v1/jobs/{job_id}")).status_code == 401
        assert (await http.get(f"/api/v1/jobs/{job_id}", headers=auth("out"))).status_code == 403
        missing = await http.get("/api/v1/jobs/nope", headers=auth("ow"))
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "no_such_job"
        link = job["download_url"]
        forged = link[:-1] + ("1" if link.endswith("0") else "0")
        assert (await http.get(forged)).status_code == 403
        expired = f"/api/v1/jobs/{job_id}/download?expires=1&signature={'0' * 64}"
        assert (await http.get(expired)).status_code == 403


async def test_exports_task_run_twice_does_no_harm() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        docs = sample_docs("p1")
        await store_docs(srv.services.store, docs)
        started = await http.post(
            "/api/v1/projects/p1/exports", json={"format": "storyarn"}, headers=auth("ed")
        )
        job_id = started.json()["job"]["id"]
        first = await wait_job(http, job_id, "ed")
        background, broker = _background(srv)
        assert isinstance(broker, InMemoryBroker)
        await enqueue_export(broker, job_id)  # a redelivery
        await broker.wait_all()
        again = await background.jobs.get(job_id)
        assert again is not None and again.status is JobStatus.DONE
        assert again.attempts == 1  # the second delivery found the job finished
        second = await wait_job(http, job_id, "ed")
        assert second["size"] == first["size"]
        download = await http.get(second["download_url"])
        check_archive(download.content, "p1", docs)
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assert archive.testzip() is None


async def test_exports_progress_reaches_tree_room_clients_as_awareness() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        await store_docs(srv.services.store, sample_docs("p1"))
        url = srv.ws_url("projects/p1/tree", token=make_token("vi"))
        async with yclient(url) as client:
            started = await http.post(
                "/api/v1/projects/p1/exports", json={"format": "storyarn"}, headers=auth("ed")
            )
            job_id = started.json()["job"]["id"]

            def done() -> bool:
                state = client.awareness.get(JOBS_CLIENT_ID)
                jobs = json.loads(state)[STATE_KEY] if state else []
                return any(j["id"] == job_id and j["status"] == "done" for j in jobs)

            await client.wait_for(done, timeout=30)
            assert client.unknown_types == []  # nothing a stock client does not know


async def test_exports_every_registered_format_finishes() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        await store_docs(srv.services.store, sample_docs("p1"))
        for name, fmt in FORMATS.items():
            started = await http.post(
                "/api/v1/projects/p1/exports", json={"format": name}, headers=auth("ow")
            )
            assert started.status_code == 202, started.text
            job = await wait_job(http, started.json()["job"]["id"], "ow")
            assert job["status"] == "done", (name, job)
            assert job["format"] == name and job["filename"].endswith(f".{fmt.extension}")
            download = await http.get(job["download_url"])
            assert download.status_code == 200 and len(download.content) == job["size"]
