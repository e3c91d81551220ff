"""`storyarn projections rebuild [PROJECT]`: recompute the projection tables from documents.

Documents are the source of truth, so the tables can always be rebuilt: after a restore from a
backup, a change to the projection code, or a projector that fell behind. Each project's tree
goes first (flows and pages read its locales and page names), then every flow and page. The
rebuild rewrites projections of equal `seq` too, and never overwrites a newer one that a
running server wrote meanwhile, so it is safe beside live servers.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from persistence.engine import create_engine, sqlite_url
from persistence.migrate import DatabaseNotMigrated, ensure_migrated
from persistence.projection_runner import ProjectionRunner
from persistence.sql_store import SqlDocumentStore
from persistence.store import StoreError
from server.settings import Settings

COMMANDS = ("projections",)


def add_commands(commands: Any) -> None:
    """Register `projections` on the CLI's sub-command parser."""
    projections = commands.add_parser(
        "projections", help="the relational projection tables"
    ).add_subparsers(dest="action", required=True)
    rebuild = projections.add_parser("rebuild", help="recompute them from stored documents")
    rebuild.add_argument("project", nargs="?", default=None, help="default: every project")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_rebuild(settings, args.project))


async def _rebuild(settings: Settings, project: str | None) -> int:
    engine = create_engine(settings.database_url or sqlite_url(settings.data_dir))
    try:
        await ensure_migrated(engine)
        runner = ProjectionRunner(engine, SqlDocumentStore(engine))
        projects = [project] if project is not None else await runner.projects()
        total, failed = 0, 0
        for project_id in projects:
            keys = await runner.documents(project_id)
            if not keys:
                print(f"storyarn projections rebuild: project {project_id!r} has no documents")
                return 1
            flags, done = 0, 0
            for key in keys:  # the tree first: `documents` orders it so
                try:
                    outcome = await runner.project(key, force=True)
                except StoreError:
                    raise
                except (ValueError, RuntimeError) as exc:  # a stored update pycrdt refuses
                    failed += 1
                    print(f"{key.name}: not projected: {exc}")
                    continue
                flags += outcome.flags
                done += 1
            total += done
            print(f"project {project_id}: {done} documents projected, {flags} repair flags")
        print(f"rebuilt the projections of {total} documents, {failed} failed")
        if failed:
            return 1
    except (DatabaseNotMigrated, StoreError) as exc:
        print(f"storyarn projections rebuild: {exc}")
        return 1
    finally:
        await engine.dispose()
    return 0
