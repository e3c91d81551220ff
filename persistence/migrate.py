"""Applying and checking migrations from code: `storyarn db upgrade` and the start-up check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.store import StoreError

_SCRIPTS = Path(__file__).parent / "migrations"


class DatabaseNotMigrated(StoreError):
    """The database schema is behind the code."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(sync_conn: Any) -> str | None:
        rev: str | None = MigrationContext.configure(sync_conn).get_current_revision()
        return rev

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the latest revision (idempotent)."""

    def run(sync_conn: Any) -> None:
        config = _config()
        config.attributes["connection"] = sync_conn
        command.upgrade(config, "head")

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several processes may start at once (`serve --workers N` in development): the
            # first migrates, the others wait here and then find nothing left to do.
            await conn.execute(text("SELECT pg_advisory_xact_lock(73110)"))
        await conn.run_sync(run)


async def ensure_migrated(engine: AsyncEngine) -> None:
    current, head = await current_revision(engine), head_revision()
    if current != head:
        raise DatabaseNotMigrated(
            f"the database is at revision {current or 'none'}, the code needs {head}: "
            "run `storyarn db upgrade`"
        )
