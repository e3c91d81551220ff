"""`storyarn backup` / `storyarn restore` on real databases: write, back up, destroy, restore."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Map
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from crdt.schema import DocKey, DocKind
from persistence.blobs_local import LocalBlobStore
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate, VersionKind
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.live_server import TEST_SECRET

KEYS = [
    DocKey("p1", DocKind.FLOW, "intro"),
    DocKey("p1", DocKind.PAGE, "lore"),
    DocKey("p2", DocKind.TREE),
]


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def throwaway(kind: str, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A migrated database, its URL and the CLI's environment for it."""
    # The data folder holds the SQLite file and, either way, the local blob store.
    env = {
        "STORYARN_ENV": "test",
        "STORYARN_SECRET_KEY": TEST_SECRET,
        "STORYARN_DATA_DIR": str(tmp_path / "data"),
    }
    if kind == "sqlite":
        url = sqlite_url(tmp_path / "data")
    else:
        name = f"storyarn_backup_{uuid.uuid4().hex[:10]}"
        await _admin(f'CREATE DATABASE "{name}"')
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        env["DATABASE_URL"] = url
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url, env
    finally:
        if kind == "postgres":
            await _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def destroy(kind: str, url: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        for file in (tmp_path / "data").glob("storyarn.db*"):
            file.unlink()
        return
    name = url.rsplit("/", 1)[1]
    await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{name}"')  # empty: not even migrated


async def storyarn(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def write_documents(url: str) -> None:
    engine = create_engine(url)
    store = SqlDocumentStore(engine)
    try:
        for n, key in enumerate(KEYS):
            doc: Doc[Any] = Doc()
            nodes = doc.get("nodes", type=Map)
            for i in range(3 + n):
                before = doc.get_state()
                nodes[f"n{i}"] = Map({"text": f"{key.name} line {i}", "x": i})
                await store.append(key, [PendingUpdate(doc.get_update(before), "alice", "conn:1")])
            if n == 1:  # compacted: a snapshot covers the first rows
                await store.write_snapshot(key, doc.get_update(), 2)
            await store.save_version(
                key, doc.get_update(), 3 + n, kind=VersionKind.NAMED, name="v", author_id="alice"
            )
    finally:
        await engine.dispose()


async def read_documents(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    store = SqlDocumentStore(engine)
    found: dict[str, Any] = {}
    try:
        for key in KEYS:
            stored = await store.load(key)
            assert stored is not None, key
            doc: Doc[Any] = Doc()
            for update in stored.updates:
                doc.apply_update(update)
            versions = [(v.seq, v.kind, v.name) for v in await store.list_versions(key)]
            found[key.name] = (stored.seq, doc.get("nodes", type=Map).to_py(), versions)
    finally:
        await engine.dispose()
    return found


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_backup_restores_every_document_and_sequence_number(
    kind: str, tmp_path: Path
) -> None:
    async with throwaway(kind, tmp_path) as (url, env):
        await write_documents(url)
        expected = await read_documents(url)
        blobs = LocalBlobStore(tmp_path / "data" / "blobs")
        await blobs.put("projects/p1/assets/abc", b"12345", "image/png")
        backup = tmp_path / "backups" / "storyarn.backup"
        code, out = await storyarn(env, "backup", str(backup))
        assert code == 0, out
        assert "backed up 3 document(s)" in out
        # Blobs are not in the database backup; the listing says which ones it expects.
        listing = (tmp_path / "backups" / "storyarn.backup.blobs.tsv").read_text()
        assert listing == "projects/p1/assets/abc\t5\n"
        await destroy(kind, url, tmp_path)
        code, out = await storyarn(env, "restore", str(backup))
        assert code == 0, out
        assert "restored 3 document(s)" in out
        assert await read_documents(url) == expected
        # Numbering goes on where it stopped: the restored documents.last_seq is the old one.
        engine = create_engine(url)
        try:
            next_seq = await SqlDocumentStore(engine).append(
                KEYS[0], [PendingUpdate(b"\x00\x00", None, "server")]
            )
        finally:
            await engine.dispose()
        assert next_seq == expected[KEYS[0].name][0] + 1
        if kind == "postgres":
            return  # the refusal below is the same code for both databases
        # A database with documents is only replaced on purpose.
        code, out = await storyarn(env, "restore", str(backup))
        assert code == 1
        assert "--force" in out
        code, out = await storyarn(env, "restore", "--force", str(backup))
        assert code == 0, out
        assert await read_documents(url) == expected


async def test_backup_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    async with throwaway("sqlite", tmp_path) as (_url, env):
        junk = tmp_path / "junk.backup"
        junk.write_bytes(b"not a database at all" * 100)
        code, out = await storyarn(env, "restore", str(junk))
    assert code == 1
    assert "not a" in out
