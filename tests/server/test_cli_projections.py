"""`storyarn projections rebuild` as a real subprocess, on SQLite and Postgres."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc
from sqlalchemy import select

from crdt.schema import DocKey, DocKind
from crdt.views import add_node, create_item, set_locale
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.projection_tables import flow_nodes, localized_texts, tree_entries
from persistence.sql_store import SqlDocumentStore
from persistence.store import PendingUpdate
from tests.support.cli import run_cli
from tests.support.live_server import TEST_SECRET


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_cli_projections_rebuild_fills_the_tables_from_documents(
    database: str, tmp_path: Path, postgres_url: str
) -> None:
    url = sqlite_url(tmp_path) if database == "sqlite" else postgres_url
    env = {"STORYARN_ENV": "test", "STORYARN_SECRET_KEY": TEST_SECRET}
    env |= {"STORYARN_DATA_DIR": str(tmp_path)} if database == "sqlite" else {"DATABASE_URL": url}
    project = f"p{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    try:
        await upgrade(engine)
        store = SqlDocumentStore(engine)
        tree: Doc[Any] = Doc()
        create_item(tree, DocKind.FLOW, "f1", "Intro")
        create_item(tree, DocKind.PAGE, "pg", "Jaime")
        set_locale(tree, "en", "English", is_source=True)
        set_locale(tree, "de", "German")
        flow: Doc[Any] = Doc()
        add_node(flow, "n0", "entry", 0, 0)
        add_node(flow, "n1", "dialogue", 0, 0, text="<p>Hello you</p>", speakerSheetId="pg")
        for key, doc in [
            (DocKey(project, DocKind.FLOW, "f1"), flow),  # before the tree: order must not matter
            (DocKey(project, DocKind.TREE), tree),
        ]:
            await store.append(key, [PendingUpdate(doc.get_update(), None, "server")])

        code, out = await run_cli("projections", "rebuild", project, env=env)
        assert code == 0, out
        assert f"project {project}: 2 documents projected" in out
        async with engine.connect() as conn:
            entries = (
                await conn.execute(
                    select(tree_entries.c.kind, tree_entries.c.id).where(
                        tree_entries.c.project_id == project
                    )
                )
            ).all()
            nodes = (
                await conn.execute(select(flow_nodes.c.id).where(flow_nodes.c.flow_id == "f1"))
            ).all()
            texts = (
                await conn.execute(
                    select(localized_texts.c.locale_code, localized_texts.c.status).where(
                        localized_texts.c.project_id == project
                    )
                )
            ).all()
        assert sorted(entries) == [("flow", "f1"), ("page", "pg")]
        assert {row.id for row in nodes} >= {"n0", "n1"}
        assert sorted(texts) == [("de", "pending"), ("en", "final")]

        code, out = await run_cli("projections", "rebuild", env=env)  # every project
        assert code == 0, out
        assert f"project {project}:" in out
        code, out = await run_cli("projections", "rebuild", "nobody-here", env=env)
        assert code == 1
        assert "has no documents" in out
    finally:
        await engine.dispose()
