"""`storyarn worker`: a separate process that runs background tasks from the Redis stream.

Builds what the tasks need from the same settings as `serve` (database, blob store), sets up
the same logging, refuses an unmigrated database, and stops cleanly on SIGTERM or SIGINT:
the task in hand is cancelled and, being unacknowledged, runs again on another worker.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import structlog
from prometheus_client import start_http_server
from sqlalchemy.exc import SQLAlchemyError

from persistence.engine import create_engine, sqlite_url
from persistence.jobs import JobStore
from persistence.migrate import ensure_migrated
from persistence.sql_store import SqlDocumentStore
from persistence.store import StoreError
from server.background import jobs_channel, worker_config
from server.blob_storage import open_blob_store
from server.error_reporting import init_error_reporting
from server.logging import configure_logging
from server.settings import Settings
from workers.job_events import RedisJobEvents
from workers.process import run_worker
from workers.runtime import Runtime

log = structlog.get_logger(__name__)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser("worker", help="run background tasks (exports, cleanup) from Redis")


async def _run(settings: Settings) -> int:
    engine = create_engine(
        settings.database_url or sqlite_url(settings.data_dir),
        pool_size=settings.database_pool_size,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    try:
        try:
            await ensure_migrated(engine)
        except (StoreError, SQLAlchemyError, OSError) as exc:
            log.error("database_not_ready", error=str(exc))
            return 1
        store = SqlDocumentStore(engine)
        events = RedisJobEvents(settings.redis_url, jobs_channel(settings))
        runtime = Runtime(
            worker_config(settings),
            engine,
            store,
            JobStore(engine),
            open_blob_store(settings),
            events.publish,
        )
        if settings.worker_metrics_port:
            # The worker has no HTTP server of its own: prometheus-client's answers /metrics.
            start_http_server(settings.worker_metrics_port, addr=settings.host)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await run_worker(runtime, stop)
        finally:
            await events.close()
        return 0
    finally:
        await engine.dispose()


def run(settings: Settings) -> int:
    if not settings.redis_url:
        print(
            "storyarn worker: set REDIS_URL; without it the server runs tasks in-process",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings)
    init_error_reporting(settings, component="worker")
    return asyncio.run(_run(settings))
