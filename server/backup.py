"""`storyarn backup PATH` and `storyarn restore PATH`: the whole database, in one file.

Postgres: `pg_dump --format=custom` (consistent while servers run: one snapshot) and
`pg_restore --clean --single-transaction` (all or nothing). The embedded SQLite file: SQLite's
online backup API, which copies a consistent state while the server keeps writing (WAL), and the
same API in the other direction to restore. Either way the backup is written to a temporary
file beside PATH and renamed into place, so PATH is never a half-written backup.

A restore refuses a database that holds documents, or (Postgres) that other sessions are using,
unless `--force`: it replaces everything, and servers still running would keep serving their
rooms from memory. Stop them first (docs/operations.md, "Back up and restore").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from persistence.blobs import BlobError
from persistence.engine import create_engine, normalise_url, sqlite_url
from server.blob_storage import open_blob_store
from server.settings import Settings


class BackupError(Exception):
    """The backup or restore could not be done; the message says why and what to do."""


def add_commands(commands: Any) -> None:
    """Register `backup` and `restore` on the CLI's sub-command parser."""
    backup = commands.add_parser("backup", help="write the whole database to a file")
    backup.add_argument("path", type=Path, help="the backup file to write")
    restore = commands.add_parser("restore", help="replace the database with a backup")
    restore.add_argument("path", type=Path, help="a file written by `storyarn backup`")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace a database that holds documents or that others are connected to",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.command == "backup":
            print(backup(settings, args.path))
        else:
            print(restore(settings, args.path, force=args.force))
    except BackupError as exc:
        print(f"storyarn {args.command}: {exc}", flush=True)
        return 1
    return 0


def database_url(settings: Settings) -> URL:
    if settings.store != "sql":
        raise BackupError("STORYARN_STORE=memory keeps nothing to back up")
    return make_url(normalise_url(settings.database_url or sqlite_url(settings.data_dir)))


def backup(settings: Settings, path: Path) -> str:
    url = database_url(settings)
    partial = path.with_name(f".{path.name}.partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_file(url, must_exist=True), partial)
        else:
            conninfo, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges"], env,
                 f"--file={partial}", conninfo)  # fmt: skip
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    documents = _count_documents(settings)
    blobs = _write_blob_listing(settings, blob_listing_path(path))
    return (
        f"backed up {documents} document(s) to {path} ({path.stat().st_size} bytes); "
        f"{blobs} blob(s) listed in {blob_listing_path(path)}"
    )


def blob_listing_path(path: Path) -> Path:
    return path.with_name(path.name + ".blobs.tsv")


def _write_blob_listing(settings: Settings, target: Path) -> int:
    """Blobs are not in the database backup (docs/operations.md): record which exist, with
    their sizes, so that a restore can be checked against the storage (or its own backup)."""
    try:
        listing = asyncio.run(open_blob_store(settings).listing())
    except BlobError as exc:
        raise BackupError(f"blob storage could not be listed: {exc}") from exc
    target.write_text("".join(f"{key}\t{size}\n" for key, size in listing))
    return len(listing)


def restore(settings: Settings, path: Path, *, force: bool) -> str:
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    url = database_url(settings)
    if not force:
        _refuse_if_in_use(settings, url)
    if url.get_backend_name() == "sqlite":
        _check_sqlite_backup(path)
        target = _sqlite_file(url, must_exist=False)
        if not target.exists():
            # A journal left beside a deleted database belongs to that database, not this one.
            for suffix in ("-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
        _sqlite_copy(path, target)
    else:
        conninfo, env = _libpq(url)
        _run(["pg_restore", "--list"], env, str(path))  # a readable archive, or stop here
        _run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error"],
            env, f"--dbname={conninfo}", str(path),
        )  # fmt: skip
    documents = _count_documents(settings)
    return (
        f"restored {documents} document(s) from {path}; "
        "run `storyarn db upgrade` if the backup is older than this release"
    )


# -- SQLite --------------------------------------------------------------------------------------


def _sqlite_file(url: URL, *, must_exist: bool) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    file = Path(url.database)
    if must_exist and not file.is_file():
        raise BackupError(f"there is no database at {file}")
    return file


def _sqlite_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            contextlib.closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)  # all pages in one step: one consistent read transaction
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup from {source} to {target} failed: {exc}") from exc


def _check_sqlite_backup(path: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            (result,) = db.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is not a SQLite database: {exc}") from exc
    if result != "ok" or "documents" not in tables:
        raise BackupError(f"{path} is not a Storyarn backup (quick_check: {result})")


# -- Postgres ------------------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and the environment that carries it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line: `ps` shows that
    query = dict(url.query)
    if "ssl" in query:  # asyncpg's spelling; libpq's is sslmode
        query["sslmode"] = query.pop("ssl")
    plain = url.set(drivername="postgresql", password=None, query=query)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], *arguments: str) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (the PostgreSQL client tools)")
    result = subprocess.run(  # noqa: S603 - a fixed tool with our own arguments
        [*command, *arguments], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()[-2000:]}")


# -- both ----------------------------------------------------------------------------------------


def _refuse_if_in_use(settings: Settings, url: URL) -> None:
    documents = _count_documents(settings)
    if documents:
        raise BackupError(
            f"the database holds {documents} document(s); stop every server and "
            "add --force to replace them"
        )
    if url.get_backend_name() != "sqlite":
        others = asyncio.run(
            _scalar(
                settings,
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
        )
        if others:
            raise BackupError(f"{others} other session(s) use the database; stop the servers")


def _count_documents(settings: Settings) -> int:
    return asyncio.run(_scalar(settings, "SELECT count(*) FROM documents", table="documents"))


async def _scalar(settings: Settings, statement: str, *, table: str | None = None) -> int:
    """One number from the database; 0 when `table` does not exist (an empty database)."""
    url = database_url(settings)
    if url.get_backend_name() == "sqlite" and not _sqlite_file(url, must_exist=False).exists():
        return 0
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        async with engine.connect() as conn:
            if table is not None and not await conn.run_sync(
                lambda sync: inspect(sync).has_table(table)
            ):
                return 0
            return int((await conn.execute(text(statement))).scalar_one())
    except (SQLAlchemyError, OSError) as exc:
        raise BackupError(f"the database did not answer: {exc.__class__.__name__}") from exc
    finally:
        await engine.dispose()
