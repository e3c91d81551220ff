"""REST routes for background jobs: start an export, read a job, download its result.

`POST /api/v1/projects/{project_id}/exports` (editors, owners) commits a queued job, then
enqueues its task. `GET /api/v1/jobs/{job_id}` answers members of the job's project with its
status, percent, a reason when it failed and, when done, a short-lived download link: the blob
store's presigned URL (S3), or a signed `/api/v1/jobs/{job_id}/download` that this server
streams (local folder). The signed link needs no token, so a browser can follow it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from redis.exceptions import RedisError
from starlette.responses import JSONResponse, Response, StreamingResponse

from persistence.blobs import BlobError, BlobNotFound, content_disposition
from persistence.jobs import Job, JobStatus
from server.api_models import ref
from server.api_registry import Api, Auth, Call, Endpoint
from server.api_schema import rule
from server.auth import Authenticator
from server.background import Background
from server.http_auth import HttpError, authenticate
from workers.export_formats import FORMATS
from workers.tasks import enqueue_export

log = structlog.get_logger(__name__)
_FORMAT_PATTERN = "^(" + "|".join(sorted(FORMATS)) + ")$"


@dataclass(frozen=True, slots=True)
class StartExport:
    format: str = field(
        metadata=rule(
            pattern=_FORMAT_PATTERN, description=f"An export format: {', '.join(sorted(FORMATS))}"
        )
    )


@dataclass(frozen=True, slots=True)
class DownloadQuery:
    expires: int = field(metadata=rule(minimum=0, maximum=2**53 - 1))
    signature: str = field(metadata=rule(pattern="^[0-9a-f]{64}$"))


class DownloadSigner:
    """Signs `/download` links with the server's secret, valid until `expires` (Unix time)."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"storyarn-job-download:" + secret.encode()).digest()
        self.ttl_seconds = ttl_seconds

    def _mac(self, job_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def link(self, job_id: str) -> str:
        expires = int(time.time()) + self.ttl_seconds
        signature = self._mac(job_id, expires)
        return f"/api/v1/jobs/{job_id}/download?expires={expires}&signature={signature}"

    def valid(self, job_id: str, expires: int, signature: str) -> bool:
        return expires >= time.time() and hmac.compare_digest(self._mac(job_id, expires), signature)


def _body(job: Job, download_url: str | None) -> dict[str, Any]:
    return {
        "id": job.id,
        "project_id": job.project_id,
        "kind": job.kind,
        "format": job.params.get("format"),
        "status": job.status.value,
        "percent": job.percent,
        "error": job.error,
        "download_url": download_url,
        "filename": job.result.filename if job.result and job.status is JobStatus.DONE else None,
        "size": job.result.size if job.result and job.status is JobStatus.DONE else None,
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


def register(
    api: Api, background: Background, authenticator: Authenticator, signer: DownloadSigner
) -> None:
    async def download_url(job: Job) -> str | None:
        if job.status is not JobStatus.DONE or job.result is None or background.blobs is None:
            return None
        try:
            presigned = await background.blobs.download_url(
                job.result.key, expires_seconds=signer.ttl_seconds, filename=job.result.filename
            )
        except BlobError as exc:
            raise HttpError(503, "storage unavailable") from exc
        return presigned or signer.link(job.id)

    async def start_export(call: Call) -> Response:
        broker = background.broker
        if broker is None:
            raise HttpError(503, "background work is not running")
        job = await background.jobs.create(
            call.project_id, "export", {"format": call.body.format}, call.user_id
        )
        try:
            await enqueue_export(broker, job.id)  # after the commit: the task finds its row
        except (RedisError, OSError) as exc:
            log.error("export_not_enqueued", job_id=job.id, error=str(exc))
            await background.jobs.fail(job.id, "the job could not be queued; try again later")
            raise HttpError(503, "the job could not be queued; try again later") from exc
        current = await background.jobs.get(job.id) or job  # in-process work may have begun
        return JSONResponse(
            {"job": _body(current, None)},
            status_code=202,
            headers={"Location": f"/api/v1/jobs/{job.id}"},
        )

    async def readable_job(call: Call) -> Job:
        if not call.request.headers.get("authorization"):
            raise HttpError(401, "authentication required")
        job = await background.jobs.get(call.path["job_id"])
        if job is None:
            raise HttpError(404, "no such job", code="no_such_job")
        await authenticate(call.request, authenticator, job.project_id, write=False)
        return job

    async def get_job(call: Call) -> Response:
        job = await readable_job(call)
        return JSONResponse({"job": _body(job, await download_url(job))})

    async def download(call: Call) -> Response:
        job_id: str = call.path["job_id"]
        if not signer.valid(job_id, call.query.expires, call.query.signature):
            raise HttpError(403, "the download link is invalid or has expired", code="link_expired")
        job = await background.jobs.get(job_id)
        if job is None or job.status is not JobStatus.DONE or job.result is None:
            raise HttpError(404, "no such result; it may have expired", code="no_such_job")
        if background.blobs is None:
            raise HttpError(503, "storage unavailable")
        try:
            chunks: AsyncIterator[bytes] = await background.blobs.open(job.result.key)
        except BlobNotFound as exc:
            raise HttpError(404, "no such result; it may have expired", code="no_such_job") from exc
        except BlobError as exc:
            raise HttpError(503, "storage unavailable") from exc
        return StreamingResponse(
            chunks,
            media_type="application/octet-stream",  # what the OpenAPI document promises
            headers={
                "Content-Disposition": content_disposition(job.result.filename),
                "Content-Length": str(job.result.size),
                "Cache-Control": "private, no-store",
            },
        )

    api.add(
        Endpoint(
            "POST",
            "/api/v1/projects/{project_id}/exports",
            start_export,
            Auth.WRITE,
            "Start an export of the whole project; follow the job it returns",
            "jobs",
            status=202,
            response=ref("JobResult"),
            body=StartExport,
        )
    )
    api.add(
        Endpoint(
            "GET",
            "/api/v1/jobs/{job_id}",
            get_job,
            Auth.NONE,  # authorised inside, by membership of the job's project
            "A job's status and progress, with a short-lived download link when done",
            "jobs",
            response=ref("JobResult"),
            errors=(401, 403, 429, 503),
            description="Bearer token required: members of the job's project may read it.",
        )
    )
    api.add(
        Endpoint(
            "GET",
            "/api/v1/jobs/{job_id}/download",
            download,
            Auth.NONE,  # the link's signature is the authorisation
            "Download a finished job's file through the signed link its job gave",
            "jobs",
            response={"type": "string", "format": "binary"},
            media_type="application/octet-stream",
            query=DownloadQuery,
            errors=(403, 503),
        )
    )
