"""The read side: every list paged by cursor, on SQLite and Postgres."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pycrdt import Doc
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.schema import DocKey, DocKind
from crdt.views import (
    SourceType,
    TranslationKey,
    add_block,
    add_node,
    connect,
    create_item,
    set_locale,
    set_reference,
    set_translation,
)
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.projection_queries import (
    InvalidCursor,
    Parent,
    ProjectionQueries,
    ResultPage,
    decode_cursor,
    encode_cursor,
)
from persistence.projection_runner import ProjectionRunner
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate

T = TypeVar("T")


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


async def _all(fetch: Callable[[str | None], Awaitable[ResultPage[T] | None]]) -> list[T]:
    """Every item, two per page, checking that each page but the last is full."""
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        assert page is not None
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        assert len(page.items) == 2
        cursor = page.next_cursor


async def _seed(engine: AsyncEngine) -> str:
    project = f"p{uuid.uuid4().hex[:10]}"
    store = SqlDocumentStore(engine)
    tree: Doc[Any] = Doc()
    create_item(tree, DocKind.PAGE, "chars", "Characters")
    for name in ("jaime", "ana", "bo"):
        create_item(tree, DocKind.PAGE, name, name.title(), parent_id="chars")
    create_item(tree, DocKind.FLOW, "f1", "Intro")
    set_locale(tree, "en", "English", is_source=True)
    set_locale(tree, "es", "Spanish")
    flow: Doc[Any] = Doc()
    add_node(flow, "n0", "entry", 0, 0)
    for i in range(1, 6):
        speaker = "jaime" if i % 2 else "ana"
        add_node(flow, f"n{i}", "dialogue", i, 0, text=f"<p>Line {i}</p>", speakerSheetId=speaker)
        connect(flow, f"c{i}", f"n{i - 1}", "output", f"n{i}")
    set_translation(flow, TranslationKey(SourceType.FLOW_NODE, "n1", "text", "es"), "Línea 1")
    page: Doc[Any] = Doc()
    add_block(page, "b1", "reference", "Friend")
    set_reference(page, "b1", "page", "jaime")
    docs = [
        (DocKey(project, DocKind.TREE), tree),
        (DocKey(project, DocKind.FLOW, "f1"), flow),
        (DocKey(project, DocKind.PAGE, "ana"), page),
    ]
    runner = ProjectionRunner(engine, store)
    for key, doc in docs:
        await store.append(key, [PendingUpdate(doc.get_update(), None, "server")])
        await runner.project(key)
    return project


async def test_queries_tree_pages_in_parent_then_position_order(engine: AsyncEngine) -> None:
    queries = ProjectionQueries(engine)
    project = await _seed(engine)
    entries = await _all(lambda c: queries.tree(project, limit=2, cursor=c))
    # Pages and flows number their positions apart: equal positions fall back to kind, then id.
    assert [(e.parent_id, e.id) for e in entries] == [
        (None, "f1"),
        (None, "chars"),
        ("chars", "jaime"),
        ("chars", "ana"),
        ("chars", "bo"),
    ]
    roots = await queries.tree(project, parent_id=None)
    assert [e.id for e in roots.items] == ["f1", "chars"]
    children = await queries.tree(project, parent_id="chars", kind="page", limit=2)
    assert [e.id for e in children.items] == ["jaime", "ana"] and children.next_cursor
    assert (await queries.tree(project, parent_id=Parent.ANY, kind="flow")).items[0].name == "Intro"
    assert await queries.projected_seq(project, "flows", "f1") == 1
    assert await queries.projected_seq(project, "flows", "nope") is None
    assert [(loc.code, loc.is_source) for loc in await queries.locales(project)] == [
        ("en", True),
        ("es", False),
    ]


async def test_queries_flow_nodes_and_connections(engine: AsyncEngine) -> None:
    queries = ProjectionQueries(engine)
    project = await _seed(engine)
    flow = await queries.flow(project, "f1")
    assert flow is not None and (flow.node_count, flow.connection_count) == (6, 5)
    nodes = await _all(lambda c: queries.flow_nodes(project, "f1", limit=2, cursor=c))
    assert [n.id for n in nodes] == ["n0", "n1", "n2", "n3", "n4", "n5"]
    dialogues = await queries.flow_nodes(project, "f1", node_type="dialogue", limit=10)
    assert dialogues is not None and len(dialogues.items) == 5
    conns = await _all(lambda c: queries.flow_connections(project, "f1", limit=2, cursor=c))
    assert [c.id for c in conns] == ["c1", "c2", "c3", "c4", "c5"]
    leaving = await queries.flow_connections(project, "f1", source_node_id="n2")
    assert leaving is not None and [c.target_node_id for c in leaving.items] == ["n3"]
    assert await queries.flow(project, "nope") is None
    assert await queries.flow_nodes(project, "nope") is None
    assert await queries.flow_connections("other-project", "f1") is None


async def test_queries_localization_and_backlinks(engine: AsyncEngine) -> None:
    queries = ProjectionQueries(engine)
    project = await _seed(engine)
    spanish = await _all(lambda c: queries.localized_texts(project, "es", limit=2, cursor=c))
    # Only the page `ana` has a document, so only its name is localized.
    assert [(t.source_type, t.source_id, t.source_field) for t in spanish] == [
        *(("flow_node", f"n{i}", "text") for i in range(1, 6)),
        ("page", "ana", "name"),
    ]
    pending = await queries.localized_texts(project, "es", status="pending", limit=100)
    assert len(pending.items) == len(spanish) - 1
    [done] = (await queries.localized_texts(project, "es", status="draft")).items
    assert (done.source_id, done.translated_text) == ("n1", "Línea 1")
    jaime = await queries.localized_texts(project, "en", speaker="jaime")
    assert [t.source_id for t in jaime.items] == ["n1", "n3", "n5"]
    links = await _all(lambda c: queries.backlinks(project, "page", "jaime", limit=2, cursor=c))
    assert [(b.doc_kind, b.source_id, b.context) for b in links] == [
        ("flows", "n1", "speaker"),
        ("flows", "n3", "speaker"),
        ("flows", "n5", "speaker"),
        ("pages", "b1", "value"),
    ]


async def test_queries_refuse_foreign_cursors(engine: AsyncEngine) -> None:
    queries = ProjectionQueries(engine)
    with pytest.raises(InvalidCursor):
        await queries.tree("p", cursor="not-a-cursor!")
    with pytest.raises(InvalidCursor):
        await queries.flow_nodes("p", "f", cursor=encode_cursor(["a", "b"]))
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor([{"x": 1}]), 1)
    assert decode_cursor(encode_cursor(["a", 2]), 2) == ["a", 2]
