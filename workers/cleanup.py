"""The periodic cleanup: expired job results, stalled jobs, old automatic versions, and idle
documents folded into their snapshot. Each step is safe to repeat and to run on several
workers at once (conditional updates; snapshots older than the stored one are ignored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from persistence.retention import delete_auto_versions, idle_documents
from workers.export_source import load_doc
from workers.metrics import timed
from workers.runtime import Runtime

log = structlog.get_logger(__name__)
_BATCH = 200  # documents compacted per run: a backlog drains over several runs


@dataclass(frozen=True, slots=True)
class CleanupReport:
    results_expired: int = 0
    jobs_stalled: int = 0
    versions_deleted: int = 0
    documents_compacted: int = 0


def _ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


async def _expire_results(runtime: Runtime) -> int:
    expired = 0
    for job in await runtime.jobs.finished_before(
        _ago(runtime.config.job_result_retention_seconds)
    ):
        if job.result is not None:
            await runtime.blobs.delete(job.result.key)  # first: a crash leaves it "done", retried
        if await runtime.jobs.expire(job.id):
            expired += 1
    return expired


async def _fail_stalled(runtime: Runtime) -> int:
    stalled = 0
    for job in await runtime.jobs.stalled_before(_ago(runtime.config.job_stale_seconds)):
        reason = "no worker finished this job in time; start it again"
        if await runtime.jobs.fail(job.id, reason):
            stalled += 1
            await runtime.job_changed(job.id)
    return stalled


async def _compact_idle(runtime: Runtime) -> int:
    compacted = 0
    for key in await idle_documents(
        runtime.engine, _ago(runtime.config.compact_idle_seconds), _BATCH
    ):
        stored = await runtime.store.load(key)
        if stored is None or stored.log_rows == 0:
            continue
        await runtime.store.write_snapshot(key, load_doc(stored.updates).get_update(), stored.seq)
        compacted += 1
    return compacted


async def run_cleanup(runtime: Runtime) -> CleanupReport:
    with timed("cleanup") as outcome:
        report = await _run_cleanup(runtime)
        outcome.value = "done"
    return report


async def _run_cleanup(runtime: Runtime) -> CleanupReport:
    config = runtime.config
    report = CleanupReport(
        results_expired=await _expire_results(runtime),
        jobs_stalled=await _fail_stalled(runtime),
        versions_deleted=(
            await delete_auto_versions(runtime.engine, _ago(config.auto_version_retention_seconds))
            if config.auto_version_retention_seconds > 0
            else 0
        ),
        documents_compacted=(
            await _compact_idle(runtime) if config.compact_idle_seconds > 0 else 0
        ),
    )
    log.info(
        "cleanup_done",
        results_expired=report.results_expired,
        jobs_stalled=report.jobs_stalled,
        versions_deleted=report.versions_deleted,
        documents_compacted=report.documents_compacted,
    )
    return report
