"""The projector: client edits reach the projection tables; failures retry, rooms never notice."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.schema import DocKey, DocKind
from crdt.views import (
    SourceType,
    TranslationKey,
    add_node,
    connect,
    create_item,
    move_node,
    set_locale,
    set_translation,
)
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.projection_runner import Outcome
from persistence.projection_tables import (
    flow_connections,
    flow_nodes,
    localized_texts,
    projection_state,
)
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate, StoreUnavailable
from server import metrics
from server.projector import Projector
from tests.support.live_server import live_server
from tests.support.yclient import yclient


async def _rows(engine: AsyncEngine, statement: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(statement)).all())


async def _eventually(engine: AsyncEngine, statement: Any, want: Any, timeout: float) -> None:
    """Poll the tables until `statement` returns `want` (sorted), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        got = sorted(tuple(row) for row in await _rows(engine, statement))
        if got == want:
            return
        assert time.monotonic() < deadline, f"projection still {got!r}, wanted {want!r}"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_projector_client_edit_reaches_the_tables_within_a_second(
    database: str, tmp_path: Path, postgres_url: str
) -> None:
    env = {"STORYARN_DATA_DIR": str(tmp_path), "STORYARN_PROJECTION_DEBOUNCE_SECONDS": "0.2"}
    url = sqlite_url(tmp_path)
    if database == "postgres":
        env["DATABASE_URL"] = url = postgres_url
    project = f"p{uuid.uuid4().hex[:8]}"  # the Postgres database is shared by the run
    engine = create_engine(url)
    try:
        async with (
            live_server(env) as srv,
            yclient(srv.ws_url(f"projects/{project}/tree", token="a", ext="ack")) as tree,
            yclient(srv.ws_url(f"projects/{project}/flows/f1", token="a", ext="ack")) as flow,
        ):
            create_item(tree.doc, DocKind.FLOW, "f1", "Tavern")
            set_locale(tree.doc, "en", "English", is_source=True)
            set_locale(tree.doc, "es", "Spanish")
            await tree.flush_acked()
            add_node(flow.doc, "n0", "entry", 0, 0)
            add_node(flow.doc, "n1", "dialogue", 5, 6, text="<p>Hello</p>")
            connect(flow.doc, "c1", "n0", "output", "n1")
            key = TranslationKey(SourceType.FLOW_NODE, "n1", "text", "es")
            set_translation(flow.doc, key, "Hola", status="final")
            await flow.flush_acked()
            flow_doc = select(projection_state.c.document_id).where(
                projection_state.c.project_id == project, projection_state.c.kind == "flows"
            )
            nodes = select(flow_nodes.c.id, flow_nodes.c.x).where(
                flow_nodes.c.document_id.in_(flow_doc.scalar_subquery())
            )
            await _eventually(engine, nodes, [("n0", 0.0), ("n1", 5.0)], timeout=1.0)
            conns = select(flow_connections.c.id).where(
                flow_connections.c.document_id.in_(flow_doc.scalar_subquery())
            )
            await _eventually(engine, conns, [("c1",)], timeout=1.0)
            texts = select(localized_texts.c.locale_code, localized_texts.c.translated_text).where(
                localized_texts.c.project_id == project
            )
            await _eventually(engine, texts, [("en", "Hello"), ("es", "Hola")], timeout=1.0)
            move_node(flow.doc, "n1", 50, 60)  # a later edit replaces the rows
            await flow.flush_acked()
            await _eventually(engine, nodes, [("n0", 0.0), ("n1", 50.0)], timeout=1.0)
            assert srv.services.projector is not None
    finally:
        await engine.dispose()


async def test_projector_failures_never_reach_the_room(tmp_path: Path) -> None:
    env = {"STORYARN_DATA_DIR": str(tmp_path), "STORYARN_PROJECTION_DEBOUNCE_SECONDS": "0.05"}
    engine = create_engine(sqlite_url(tmp_path))
    failures_before = metrics.PROJECTION_FAILURES._value.get()
    try:
        async with (
            live_server(env) as srv,
            yclient(srv.ws_url("projects/p1/flows/f1", token="a", ext="ack")) as flow,
        ):
            async with engine.begin() as conn:  # a real fault: the table is gone
                await conn.execute(text("ALTER TABLE flow_nodes RENAME TO flow_nodes_away"))
            for i in range(5):
                add_node(flow.doc, f"h{i}", "hub", i, 0)
                await flow.flush_acked()  # commits and acks carry on
            await flow.wait_for(
                lambda: metrics.PROJECTION_FAILURES._value.get() > failures_before, timeout=5
            )
            async with engine.begin() as conn:
                await conn.execute(text("ALTER TABLE flow_nodes_away RENAME TO flow_nodes"))
            want = [(f"h{i}",) for i in range(5)]
            await _eventually(engine, select(flow_nodes.c.id), want, timeout=5.0)
            room = srv.services.rooms.get(DocKey("p1", DocKind.FLOW, "f1"))
            assert room is not None and room.healthy
    finally:
        await engine.dispose()


async def test_projector_catches_up_at_start(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path))
    try:
        await upgrade(engine)
        flow: Doc[Any] = Doc()
        add_node(flow, "n0", "entry", 0, 0)
        key = DocKey("p1", DocKind.FLOW, "f1")  # committed, never projected (a crash)
        await SqlDocumentStore(engine).append(
            key, [PendingUpdate(flow.get_update(), None, "server")]
        )
        async with live_server({"STORYARN_DATA_DIR": str(tmp_path)}):
            await _eventually(engine, select(flow_nodes.c.id), [("n0",)], timeout=5.0)
    finally:
        await engine.dispose()


class _FlakyRunner:
    """A runner that fails its first `fail` calls, then succeeds (passed in, not patched)."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.calls: list[DocKey] = []

    async def project(self, key: DocKey, *, force: bool = False) -> Outcome:
        self.calls.append(key)
        if len(self.calls) <= self.fail:
            raise StoreUnavailable("database down")
        return Outcome(key, seq=1, written=True)

    async def stale_documents(self, limit: int = 10_000) -> list[DocKey]:
        return []


async def test_projector_debounces_and_retries() -> None:
    runner = _FlakyRunner(fail=2)
    projector = Projector(
        runner,  # type: ignore[arg-type]
        debounce_seconds=0.05,
        retry_initial_seconds=0.01,
    )
    task = asyncio.get_running_loop().create_task(projector.run())
    try:
        key = DocKey("p", DocKind.FLOW, "f")
        for seq in range(1, 20):
            projector.committed(key, seq)  # one burst: one projection
        await asyncio.wait_for(projector.drained(), 5)
        assert runner.calls == [key, key, key]  # two failures, then the retry that worked
        assert projector.projected == 1
    finally:
        task.cancel()
