"""Writing projections on SQLite and Postgres: replace per document, newer only, concurrency."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Array, Doc, Map
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.schema import DocKey, DocKind
from crdt.views import (
    SourceType,
    TranslationKey,
    add_node,
    connect,
    create_item,
    rename_item,
    set_locale,
    set_meta,
    set_translation,
)
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.projection import Projection
from persistence.projection_queries import ProjectionQueries
from persistence.projection_runner import ProjectionRunner
from persistence.projection_tables import (
    flow_connections,
    flow_nodes,
    localized_texts,
    projection_state,
)
from persistence.projection_writer import ProjectionWriter
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[AsyncEngine]:
    url = sqlite_url(tmp_path) if request.param == "sqlite" else postgres_url
    engine = create_engine(url)
    if request.param == "sqlite":
        await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def _project() -> str:
    return f"p{uuid.uuid4().hex[:10]}"  # the Postgres database is shared by the run


async def _save(store: SqlDocumentStore, key: DocKey, doc: Doc[Any]) -> int:
    return await store.append(key, [PendingUpdate(doc.get_update(), None, "server")])


def _nodes(ids: list[str]) -> Projection:
    rows = [
        {"id": i, "flow_id": "f", "type": "hub", "x": 0.0, "y": 0.0, "data": {"n": i}} for i in ids
    ]
    return Projection({"flow_nodes": rows})


async def _node_ids(engine: AsyncEngine, document_id: int) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(flow_nodes.c.id).where(flow_nodes.c.document_id == document_id)
        )
        return {row.id for row in rows}


async def _document(engine: AsyncEngine, key: DocKey) -> int:
    store = SqlDocumentStore(engine)
    await store.create(key)
    found = await ProjectionWriter(engine).document_id(key)
    assert found is not None
    return found


async def test_projection_writer_replaces_rows_only_when_newer(engine: AsyncEngine) -> None:
    key = DocKey(_project(), DocKind.FLOW, "f")
    doc_id = await _document(engine, key)
    writer = ProjectionWriter(engine)
    assert await writer.write(key, doc_id, 2, _nodes(["a", "b"]))
    assert await _node_ids(engine, doc_id) == {"a", "b"}
    assert not await writer.write(key, doc_id, 1, _nodes(["old"]))  # older: refused
    assert not await writer.write(key, doc_id, 2, _nodes(["same"]))  # equal: nothing to do
    assert await _node_ids(engine, doc_id) == {"a", "b"}
    assert await writer.write(key, doc_id, 2, _nodes(["forced"]), force=True)  # a rebuild
    assert await _node_ids(engine, doc_id) == {"forced"}
    newer_context = _nodes(["ctx"])
    newer_context.context_seq = 5  # the tree moved on: same doc seq, new locales
    assert await writer.write(key, doc_id, 2, newer_context)
    assert await writer.write(key, doc_id, 3, _nodes(["c"]))
    assert await _node_ids(engine, doc_id) == {"c"}
    async with engine.connect() as conn:
        state = (await conn.execute(select(projection_state))).all()
    mine = [row for row in state if row.document_id == doc_id]
    assert [(row.seq, row.context_seq) for row in mine] == [(3, 0)]


async def test_projection_writer_touches_only_changed_rows(engine: AsyncEngine) -> None:
    key = DocKey(_project(), DocKind.FLOW, "f")
    doc_id = await _document(engine, key)
    writer = ProjectionWriter(engine)
    rng = random.Random(3)
    seq = 0
    for _ in range(12):
        seq += 1
        ids = sorted(rng.sample([f"n{i}" for i in range(12)], rng.randrange(0, 12)))
        projection = _nodes(ids)
        for row in projection.rows["flow_nodes"]:
            row["x"] = float(rng.randrange(3))  # some rows change, most stay the same
        assert await writer.write(key, doc_id, seq, projection)
        async with engine.connect() as conn:
            stored = (
                await conn.execute(
                    select(flow_nodes.c.id, flow_nodes.c.x, flow_nodes.c.data, flow_nodes.c.seq)
                    .where(flow_nodes.c.document_id == doc_id)
                    .order_by(flow_nodes.c.id)
                )
            ).all()
        wanted = [(r["id"], r["x"], r["data"]) for r in projection.rows["flow_nodes"]]
        assert [(r.id, r.x, r.data) for r in stored] == wanted
        assert all(r.seq <= seq for r in stored)
    first = _nodes(["a", "b", "c", "e", "f", "g"])
    seq += 1
    await writer.write(key, doc_id, seq, first)
    second = _nodes(["a", "b", "d", "e", "f", "g"])
    second.rows["flow_nodes"][1]["x"] = 9.0
    await writer.write(key, doc_id, seq + 1, second)
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                select(flow_nodes.c.id, flow_nodes.c.seq)
                .where(flow_nodes.c.document_id == doc_id)
                .order_by(flow_nodes.c.id)
            )
        ).all()
    # The unchanged row keeps the seq that wrote it; changed and new rows carry the new one.
    assert [tuple(r) for r in stored] == [
        ("a", seq),
        ("b", seq + 1),
        ("d", seq + 1),
        ("e", seq),
        ("f", seq),
        ("g", seq),
    ]


async def test_projection_writer_concurrent_writes_keep_the_newest(engine: AsyncEngine) -> None:
    key = DocKey(_project(), DocKind.FLOW, "f")
    doc_id = await _document(engine, key)
    writers = [ProjectionWriter(engine) for _ in range(3)]  # as if several instances
    seqs = list(range(1, 16))
    random.Random(7).shuffle(seqs)
    await asyncio.gather(
        *(
            writers[i % 3].write(key, doc_id, seq, _nodes([f"s{seq}-{n}" for n in range(20)]))
            for i, seq in enumerate(seqs)
        )
    )
    assert await _node_ids(engine, doc_id) == {f"s15-{n}" for n in range(20)}


async def test_projection_runner_projects_stored_documents(engine: AsyncEngine) -> None:
    project = _project()
    store = SqlDocumentStore(engine)
    runner = ProjectionRunner(engine, store)
    tree_key = DocKey(project, DocKind.TREE)
    flow_key = DocKey(project, DocKind.FLOW, "f1")
    tree: Doc[Any] = Doc()
    create_item(tree, DocKind.FLOW, "f1", "Intro")
    create_item(tree, DocKind.PAGE, "jaime", "Jaime")
    set_locale(tree, "en", "English", is_source=True)
    await _save(store, tree_key, tree)
    flow: Doc[Any] = Doc()
    add_node(flow, "n0", "entry", 0, 0)
    add_node(flow, "n1", "dialogue", 0, 0, text="<p>Hello</p>", speakerSheetId="jaime")
    connect(flow, "c1", "n0", "output", "n1")
    set_translation(flow, TranslationKey(SourceType.FLOW_NODE, "n1", "text", "es"), "Hola")
    seq = await _save(store, flow_key, flow)
    outcome = await runner.project(flow_key)
    assert outcome.written and outcome.seq == seq
    first_tree = await runner.project(tree_key)
    assert first_tree.dependents == (flow_key,)  # the locales appeared: flows must follow
    await runner.project(flow_key)
    flow_doc = await ProjectionWriter(engine).document_id(flow_key)
    async with engine.connect() as conn:
        texts = (
            await conn.execute(
                select(localized_texts.c.locale_code, localized_texts.c.translated_text).where(
                    localized_texts.c.document_id == flow_doc
                )
            )
        ).all()
        conns = (
            await conn.execute(
                select(func.count()).where(flow_connections.c.document_id == flow_doc)
            )
        ).scalar_one()
    assert sorted(texts) == [("en", "Hello")]
    assert conns == 1
    set_locale(tree, "es", "Spanish")
    await _save(store, tree_key, tree)
    assert (await runner.project(tree_key)).dependents == (flow_key,)
    await runner.project(flow_key)
    async with engine.connect() as conn:
        texts = (
            await conn.execute(
                select(localized_texts.c.locale_code, localized_texts.c.translated_text).where(
                    localized_texts.c.document_id == flow_doc
                )
            )
        ).all()
    assert sorted(texts) == [("en", "Hello"), ("es", "Hola")]
    create_item(tree, DocKind.PAGE, "other", "Other")  # no document of it: nothing to redo
    await _save(store, tree_key, tree)
    assert (await runner.project(tree_key)).dependents == ()
    rename_item(tree, DocKind.FLOW, "f1", "Intro 2")  # the flows row shows the tree's name
    await _save(store, tree_key, tree)
    assert (await runner.project(tree_key)).dependents == (flow_key,)
    await runner.project(flow_key)
    summary = await ProjectionQueries(engine).flow(project, "f1")
    assert summary is not None and summary.name == "Intro 2"
    page_key = DocKey(project, DocKind.PAGE, "jaime")
    await store.create(page_key)
    rename_item(tree, DocKind.PAGE, "jaime", "Jaime Lannister")  # its name is localized
    await _save(store, tree_key, tree)
    assert (await runner.project(tree_key)).dependents == (page_key,)
    assert await runner.documents(project) == [tree_key, flow_key, page_key]
    assert project in await runner.projects()


async def test_projection_runner_skips_unknown_documents(engine: AsyncEngine) -> None:
    runner = ProjectionRunner(engine, SqlDocumentStore(engine))
    outcome = await runner.project(DocKey(_project(), DocKind.FLOW, "nope"))
    assert not outcome.written


async def test_projection_runner_stores_what_postgres_would_refuse(engine: AsyncEngine) -> None:
    project = _project()
    store = SqlDocumentStore(engine)
    key = DocKey(project, DocKind.FLOW, "f1")
    flow: Doc[Any] = Doc()
    add_node(flow, "n0", "entry", 0, 0)
    add_node(flow, "n1", "hub", 0, 0, color="bad\x00color")
    set_meta(flow, name="Tav\x00ern")
    nodes_root = flow.get("nodes", type=Map)  # what a misbehaving client can write, raw
    nodes_root["n0"]["x"] = float("inf")
    nodes_root["n1"]["data"]["extra"] = Array([1.0, float("nan")])
    await _save(store, key, flow)
    outcome = await ProjectionRunner(engine, store).project(key)
    assert outcome.written and outcome.flags >= 3
    nodes = await ProjectionQueries(engine).flow_nodes(project, "f1")
    assert nodes is not None
    by_id = {node.id: node for node in nodes.items}
    assert by_id["n0"].x is None
    assert by_id["n1"].data["color"] == "badcolor"
    assert by_id["n1"].data["extra"] == [1, None]
    summary = await ProjectionQueries(engine).flow(project, "f1")
    assert summary is not None and summary.name == "Tavern"
