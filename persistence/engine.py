"""Database engines: Postgres through asyncpg, or a SQLite file through aiosqlite (WAL)."""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'storyarn.db'}"


def normalise_url(url: str) -> str:
    """Accept the URL forms operators paste (postgres://, postgresql://) for our drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


_SQLITE_WRITE_LOCKS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def sqlite_write_lock(engine: AsyncEngine) -> asyncio.Lock | None:
    """The one lock every writer of this SQLite engine takes; None on Postgres.

    SQLite has one writer per file. Two pooled connections of this process that both read and
    then write deadlock on the lock upgrade (SQLITE_BUSY at once, no busy wait), so the document
    store and the projection writer queue their writes behind this shared lock instead.
    """
    if not is_sqlite(engine):
        return None
    lock = _SQLITE_WRITE_LOCKS.get(engine)
    if lock is None:
        lock = _SQLITE_WRITE_LOCKS[engine] = asyncio.Lock()
    return lock


def create_engine(url: str, *, pool_size: int = 10, statement_timeout_ms: int = 0) -> AsyncEngine:
    """An engine for `url`. `statement_timeout_ms` (Postgres only; 0: none) makes the server
    cancel any statement of this engine's sessions that runs longer, so a slow query frees its
    connection and backend instead of holding them; SQLite has no such setting."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5,
        # Parameters are document updates: keep them out of logs and error messages.
        hide_parameters=True,
        connect_args={
            "timeout": 5,
            "command_timeout": 30,
            # Set once per connection at login, so no statement runs before it applies.
            "server_settings": {"statement_timeout": str(max(0, statement_timeout_ms))},
        },
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; NORMAL syncs at checkpoints, which survives a
    # killed process (the OS keeps the pages) though not a power cut (docs/operations.md).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
