"""The Postgres statement timeout: the server cancels what runs longer; SQLite has none."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from persistence.engine import create_engine, sqlite_url


async def test_engine_timeout_postgres_cancels_a_long_statement(postgres_url: str) -> None:
    engine = create_engine(postgres_url, statement_timeout_ms=200)
    try:
        async with engine.connect() as conn:
            shown = (await conn.execute(text("SHOW statement_timeout"))).scalar_one()
            assert shown == "200ms"
            with pytest.raises(DBAPIError, match="statement timeout"):
                await conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()


async def test_engine_timeout_zero_means_no_limit(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "0"
    finally:
        await engine.dispose()


async def test_engine_timeout_is_ignored_by_sqlite(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path), statement_timeout_ms=1)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
