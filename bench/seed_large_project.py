"""EXPLAIN ANALYZE of the projection queries at realistic volume, on Postgres.

    uv run python bench/seed_large_project.py [--postgres URL] [--keep]

Creates a database of its own (`storyarn_bench_<random>` next to the one URL names), migrates
it, bulk-inserts (COPY) one large project straight into the projection tables — 2,000 pages,
300 flows of 200 nodes (60,000 nodes, about 60,000 connections), 5 locales — plus a second,
smaller project so that every index also has to skip other projects' rows, runs ANALYZE, and
prints EXPLAIN (ANALYZE, BUFFERS) for each critical query (the SQL `persistence/
projection_queries.py` sends). Drops the database at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.engine import create_engine
from persistence.migrate import upgrade

LOCALES = ("en", "es", "fr", "de", "ja")  # en is the source
STATUSES = ("pending", "draft", "in_progress", "review", "final")
NODE_TYPES = (
    ["entry"]
    + ["dialogue"] * 120
    + ["hub"] * 30
    + ["condition"] * 20
    + ["instruction"] * 15
    + ["exit"] * 10
    + ["jump"] * 4
)
CONTENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "audio/mpeg",
    "audio/ogg",
    "application/pdf",
)
NOW = datetime.now(UTC)


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:06d}"


class Project:
    """Row generators for one project of `pages` pages and `flows` flows of `nodes` nodes."""

    def __init__(self, project_id: str, pages: int, flows: int, nodes: int, rng: random.Random):
        self.id = project_id
        self.pages = pages
        self.flows = flows
        self.nodes = nodes
        self.rng = rng
        self.doc_ids: dict[tuple[str, str], int] = {}

    def documents(self, first_id: int) -> list[tuple[Any, ...]]:
        rows = []
        keys = [("tree", "")] + [("flows", _id("f", i)) for i in range(self.flows)]
        keys += [("pages", _id("g", i)) for i in range(self.pages)]
        for offset, (kind, doc_id) in enumerate(keys):
            self.doc_ids[kind, doc_id] = first_id + offset
            rows.append((first_id + offset, self.id, kind, doc_id, 1, NOW, NOW))
        return rows

    def state(self) -> Iterator[tuple[Any, ...]]:
        for (kind, doc_id), document_id in self.doc_ids.items():
            yield (document_id, self.id, kind, doc_id, 1, 1, '{"flags": [], "more": 0}', NOW)

    def tree_entries(self) -> Iterator[tuple[Any, ...]]:
        tree = self.doc_ids["tree", ""]
        folders = max(1, self.pages // 50)  # 50 folders of ~40 pages, some nested a level deeper
        for i in range(self.pages):
            if i < folders:
                parent = ""
            elif i < folders * 5:
                parent = _id("g", i % folders)
            else:
                parent = _id("g", folders + i % (folders * 4))
            yield (
                self.id,
                "page",
                _id("g", i),
                tree,
                1,
                parent,
                f"V{i:05d}",
                f"Page {i}",
                None,
                False,
            )
        for i in range(self.flows):
            parent = "" if i < 10 else _id("f", i % 10)
            yield (
                self.id,
                "flow",
                _id("f", i),
                tree,
                1,
                parent,
                f"V{i:05d}",
                f"Flow {i}",
                None,
                False,
            )

    def flows_rows(self) -> Iterator[tuple[Any, ...]]:
        for i in range(self.flows):
            doc = self.doc_ids["flows", _id("f", i)]
            entry = _id("n", 0)
            yield (
                doc,
                self.id,
                _id("f", i),
                1,
                f"Flow {i}",
                None,
                None,
                i == 0,
                entry,
                self.nodes,
                self.nodes - 1,
            )

    def flow_nodes(self) -> Iterator[tuple[Any, ...]]:
        for f in range(self.flows):
            doc = self.doc_ids["flows", _id("f", f)]
            for n in range(self.nodes):
                kind = NODE_TYPES[n % len(NODE_TYPES)]
                data: dict[str, Any] = {}
                if kind == "dialogue":
                    data = {
                        "text": f"<p>Line {n} of flow {f}, spoken with feeling.</p>",
                        "speakerSheetId": _id("g", self.rng.randrange(200)),
                        "responses": [{"id": f"r{n}", "text": "Go on."}],
                    }
                yield (
                    doc,
                    _id("n", n),
                    _id("f", f),
                    1,
                    kind,
                    float(n * 10),
                    float(n % 7),
                    json.dumps(data),
                )

    def flow_connections(self) -> Iterator[tuple[Any, ...]]:
        for f in range(self.flows):
            doc = self.doc_ids["flows", _id("f", f)]
            for n in range(1, self.nodes):
                source = _id("n", self.rng.randrange(n))
                yield (
                    doc,
                    _id("c", n),
                    _id("f", f),
                    1,
                    source,
                    "output",
                    _id("n", n),
                    "input",
                    None,
                )

    def _sources(self) -> Iterator[tuple[str, str, str, str, str, str | None, int]]:
        """(doc kind, doc id, source type, source id, field, speaker, document id)."""
        for f in range(self.flows):
            doc_id = _id("f", f)
            document = self.doc_ids["flows", doc_id]
            for n in range(self.nodes):
                kind = NODE_TYPES[n % len(NODE_TYPES)]
                if kind == "dialogue":
                    speaker = _id("g", (f * 7 + n) % 200)
                    yield ("flows", doc_id, "flow_node", _id("n", n), "text", speaker, document)
                    yield (
                        "flows",
                        doc_id,
                        "flow_node",
                        _id("n", n),
                        f"response.r{n}.text",
                        speaker,
                        document,
                    )
                elif kind == "exit":
                    yield ("flows", doc_id, "flow_node", _id("n", n), "label", None, document)
        for g in range(self.pages):
            doc_id = _id("g", g)
            document = self.doc_ids["pages", doc_id]
            yield ("pages", doc_id, "page", doc_id, "name", None, document)
            yield ("pages", doc_id, "block", _id("b", g * 2), "value.content", None, document)
            yield ("pages", doc_id, "block", _id("b", g * 2 + 1), "value.content", None, document)

    def localized_texts(self) -> Iterator[tuple[Any, ...]]:
        for doc_kind, doc_id, source_type, source_id, field, speaker, document in self._sources():
            source = f"Source text of {source_id} {field}, about ten words long here."
            for locale in LOCALES:
                if locale == "en":
                    status, translated = "final", source
                else:
                    status = self.rng.choices(STATUSES, weights=(50, 10, 10, 10, 20))[0]
                    translated = None if status == "pending" else f"[{locale}] {source}"
                yield (
                    document,
                    self.id,
                    doc_kind,
                    doc_id,
                    1,
                    source_type,
                    source_id,
                    field,
                    locale,
                    source,
                    translated,
                    status,
                    None,
                    speaker,
                    10,
                )

    def entity_references(self) -> Iterator[tuple[Any, ...]]:
        for doc_kind, doc_id, source_type, source_id, field, speaker, document in self._sources():
            if speaker is not None and field == "text":
                yield (
                    document,
                    self.id,
                    doc_kind,
                    doc_id,
                    1,
                    source_type,
                    source_id,
                    "page",
                    speaker,
                    "speaker",
                )
        for f in range(self.flows):
            document = self.doc_ids["flows", _id("f", f)]
            for n in range(0, self.nodes, 50):
                target = _id("f", (f + n + 1) % self.flows)
                yield (
                    document,
                    self.id,
                    "flows",
                    _id("f", f),
                    1,
                    "flow_node",
                    _id("n", n),
                    "flow",
                    target,
                    "subflow",
                )
        for g in range(self.pages):
            document = self.doc_ids["pages", _id("g", g)]
            target = _id("g", self.rng.randrange(self.pages))
            yield (
                document,
                self.id,
                "pages",
                _id("g", g),
                1,
                "block",
                _id("b", g * 2),
                "page",
                target,
                "value",
            )

    def assets(self, count: int) -> Iterator[tuple[Any, ...]]:
        for i in range(count):
            content_type = CONTENT_TYPES[i % len(CONTENT_TYPES)]
            yield (
                self.id,
                _id("a", i),
                f"file{i}",
                content_type,
                1000 + i,
                f"{self.id}/{i}",
                None,
                "{}",
                None,
                None,
                NOW,
                None,
            )


COLUMNS = {
    "documents": ["id", "project_id", "kind", "doc_id", "last_seq", "created_at", "updated_at"],
    "projection_state": [
        "document_id",
        "project_id",
        "kind",
        "doc_id",
        "seq",
        "context_seq",
        "flags",
        "projected_at",
    ],
    "tree_entries": [
        "project_id",
        "kind",
        "id",
        "document_id",
        "seq",
        "parent_id",
        "position",
        "name",
        "shortcut",
        "deleted",
    ],
    "flows": [
        "document_id",
        "project_id",
        "id",
        "seq",
        "name",
        "shortcut",
        "description",
        "is_main",
        "entry_node_id",
        "node_count",
        "connection_count",
    ],
    "flow_nodes": ["document_id", "id", "flow_id", "seq", "type", "x", "y", "data"],
    "flow_connections": [
        "document_id",
        "id",
        "flow_id",
        "seq",
        "source_node_id",
        "source_pin",
        "target_node_id",
        "target_pin",
        "label",
    ],
    "localized_texts": [
        "document_id",
        "project_id",
        "doc_kind",
        "doc_id",
        "seq",
        "source_type",
        "source_id",
        "source_field",
        "locale_code",
        "source_text",
        "translated_text",
        "status",
        "translator_notes",
        "speaker",
        "word_count",
    ],
    "entity_references": [
        "document_id",
        "project_id",
        "doc_kind",
        "doc_id",
        "seq",
        "source_type",
        "source_id",
        "target_type",
        "target_id",
        "context",
    ],
    "assets": [
        "project_id",
        "id",
        "filename",
        "content_type",
        "size",
        "key",
        "url",
        "metadata",
        "blob_hash",
        "uploaded_by",
        "created_at",
        "deleted_at",
    ],
}


async def seed(conn: asyncpg.Connection, projects: list[Project]) -> dict[str, int]:
    counts: dict[str, int] = {}
    first = 1
    for project in projects:
        docs = project.documents(first)
        first += len(docs)
        tables: dict[str, Any] = {
            "documents": docs,
            "projection_state": project.state(),
            "tree_entries": project.tree_entries(),
            "flows": project.flows_rows(),
            "flow_nodes": project.flow_nodes(),
            "flow_connections": project.flow_connections(),
            "localized_texts": project.localized_texts(),
            "entity_references": project.entity_references(),
            "assets": project.assets(5000 if project is projects[0] else 500),
        }
        for table, rows in tables.items():
            records = list(rows)
            await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table])
            counts[table] = counts.get(table, 0) + len(records)
    await conn.execute("SELECT setval('documents_id_seq', $1)", first)
    await conn.execute("ANALYZE")
    return counts


def queries(project: str) -> list[tuple[str, str, str]]:
    """(index it should use, what it serves, SQL), with literal parameters for EXPLAIN."""
    doc = "(SELECT document_id FROM flows WHERE project_id = '{p}' AND id = 'f000150')"
    return [
        (
            "ix_tree_entries_children",
            "page tree: one folder's children, first page",
            "SELECT * FROM tree_entries WHERE project_id = '{p}' AND parent_id = 'g000007' "
            "AND deleted = false ORDER BY parent_id, position, kind, id LIMIT 101",
        ),
        (
            "ix_tree_entries_children",
            "page tree: whole tree, a page deep inside (keyset cursor)",
            "SELECT * FROM tree_entries WHERE project_id = '{p}' AND deleted = false "
            "AND (parent_id, position, kind, id) > ('g000030', 'V01000', 'page', 'g001000') "
            "ORDER BY parent_id, position, kind, id LIMIT 101",
        ),
        (
            "ix_flow_nodes_type",
            "flow nodes of one type (dialogue lines of a flow)",
            f"SELECT * FROM flow_nodes WHERE document_id = {doc} AND type = 'dialogue' "  # noqa: S608 - constant text, a benchmark's own literals
            "ORDER BY id LIMIT 101",
        ),
        (
            "pk_flow_nodes",
            "flow nodes, all types, second page",
            f"SELECT * FROM flow_nodes WHERE document_id = {doc} AND id > 'n000100' "  # noqa: S608 - constant text, a benchmark's own literals
            "ORDER BY id LIMIT 101",
        ),
        (
            "ix_flow_connections_source",
            "connections leaving a node",
            f"SELECT * FROM flow_connections WHERE document_id = {doc} "  # noqa: S608 - constant text, a benchmark's own literals
            "AND source_node_id = 'n000010' ORDER BY id LIMIT 101",
        ),
        (
            "ix_localized_texts_locale_status",
            "localization: pending strings of a locale, first page",
            "SELECT * FROM localized_texts WHERE project_id = '{p}' AND locale_code = 'de' "
            "AND status = 'pending' ORDER BY source_type, source_id, source_field, document_id "
            "LIMIT 101",
        ),
        (
            "ix_localized_texts_locale_status",
            "localization: pending strings of a locale, a page deep inside (cursor)",
            "SELECT * FROM localized_texts WHERE project_id = '{p}' AND locale_code = 'de' "
            "AND status = 'pending' AND (source_type, source_id, source_field, document_id) > "
            "('flow_node', 'n000150', 'text', 1000) "
            "ORDER BY source_type, source_id, source_field, document_id LIMIT 101",
        ),
        (
            "ix_localized_texts_locale",
            "localization: every string of a locale (no status filter)",
            "SELECT * FROM localized_texts WHERE project_id = '{p}' AND locale_code = 'ja' "
            "ORDER BY source_type, source_id, source_field, document_id LIMIT 101",
        ),
        (
            "ix_localized_texts_speaker",
            "localization: one character's lines in a locale",
            "SELECT * FROM localized_texts WHERE project_id = '{p}' AND locale_code = 'fr' "
            "AND speaker = 'g000042' ORDER BY source_type, source_id, source_field, document_id "
            "LIMIT 101",
        ),
        (
            "ix_entity_references_target",
            "backlinks of a page (a character spoken by many lines)",
            "SELECT * FROM entity_references WHERE project_id = '{p}' AND target_type = 'page' "
            "AND target_id = 'g000042' ORDER BY doc_kind, doc_id, source_type, source_id, context "
            "LIMIT 101",
        ),
        (
            "ix_assets_content_type",
            "assets of one type",
            "SELECT * FROM assets WHERE project_id = '{p}' AND content_type = 'image/png' "
            "ORDER BY id LIMIT 101",
        ),
    ]


async def explain(conn: asyncpg.Connection, project: str) -> None:
    for index, what, sql in queries(project):
        statement = sql.replace("{p}", project)
        plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}")
        lines = [row[0] for row in plan]
        used = index in "\n".join(lines)
        print(f"\n-- {what}  [{index}: {'used' if used else 'NOT USED'}]")
        print(statement)
        print("\n".join(lines))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    name = f"storyarn_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(args.postgres, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            rng = random.Random(42)
            big = Project("big-project", pages=2000, flows=300, nodes=200, rng=rng)
            other = Project("other-project", pages=400, flows=60, nodes=200, rng=rng)
            started = time.perf_counter()
            counts = await seed(conn, [big, other])
            print(f"seeded in {time.perf_counter() - started:.1f} s: {counts}")
            version = await conn.fetchval("SELECT version()")
            print(version)
            await explain(conn, big.id)
        finally:
            await conn.close()
    finally:
        if not args.keep:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
