"""Relational projections of documents: tables that REST, search and exports read.

Documents are the source of truth; every row here is derived from one document (its
`document_id`, cascading) and carries the `seq` of the state it reflects. A document's rows
are replaced together, in one transaction, guarded by `projection_state` (see
`projection_writer.py`). Migration 0003 creates these tables; docs/database.md lists them with
the queries each index serves. Core tables, not ORM classes: rows are written in bulk and read
by hand-written keyset queries.

Flow ids and page ids are strings chosen by clients, unique inside a project only, so rows of
one flow are keyed by the flow document's internal `document_id`, which is unique everywhere.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from persistence.models import Base, BigId

Json = JSON().with_variant(JSONB(), "postgresql")
_ID = 64


def _document() -> Column[int]:
    return Column(
        "document_id", BigId, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False
    )


def _seq() -> Column[int]:
    return Column("seq", BigInteger, nullable=False)


metadata = Base.metadata

projection_state = Table(
    "projection_state",
    metadata,
    Column("document_id", BigId, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", String(_ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("doc_id", String(_ID), nullable=False),
    _seq(),
    # The tree projection's seq this one was computed with (locales, page names): a flow's
    # rows change when the tree's locales do, without a new seq of the flow itself.
    Column("context_seq", BigInteger, nullable=False),
    Column("flags", Json, nullable=False),
    Column("projected_at", DateTime(timezone=True), nullable=False),
    Index("ix_projection_state_project_id", "project_id", "kind"),
)

tree_entries = Table(
    "tree_entries",
    metadata,
    Column("project_id", String(_ID), nullable=False),
    Column("kind", String(8), nullable=False),  # page | flow
    Column("id", String(_ID), nullable=False),
    _document(),
    _seq(),
    Column("parent_id", String(_ID), nullable=False),  # "" for a root: keyset order needs no NULL
    Column("position", String(200), nullable=False),
    Column("name", String(200)),
    Column("shortcut", String(64)),
    Column("deleted", Boolean, nullable=False),
    PrimaryKeyConstraint("project_id", "kind", "id", name="pk_tree_entries"),
    Index("ix_tree_entries_children", "project_id", "parent_id", "position", "kind", "id"),
    Index("ix_tree_entries_document_id", "document_id"),
)

project_locales = Table(
    "project_locales",
    metadata,
    Column("project_id", String(_ID), nullable=False),
    Column("locale_code", String(35), nullable=False),
    _document(),
    _seq(),
    Column("name", String(100), nullable=False),
    Column("is_source", Boolean, nullable=False),
    Column("position", Float, nullable=False),
    PrimaryKeyConstraint("project_id", "locale_code", name="pk_project_locales"),
    Index("ix_project_locales_document_id", "document_id"),
)

flows = Table(
    "flows",
    metadata,
    Column("document_id", BigId, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", String(_ID), nullable=False),
    Column("id", String(_ID), nullable=False),
    _seq(),
    Column("name", String(200)),
    Column("shortcut", String(64)),
    Column("description", Text),
    Column("is_main", Boolean, nullable=False),
    Column("entry_node_id", String(_ID)),
    Column("node_count", Integer, nullable=False),
    Column("connection_count", Integer, nullable=False),
    UniqueConstraint("project_id", "id", name="uq_flows_project_id_id"),
)

flow_nodes = Table(
    "flow_nodes",
    metadata,
    _document(),  # the flow
    Column("id", String(_ID), nullable=False),
    Column("flow_id", String(_ID), nullable=False),
    _seq(),
    Column("type", String(32)),  # null: missing or unknown (flagged)
    Column("x", Float),
    Column("y", Float),
    Column("data", Json, nullable=False),
    PrimaryKeyConstraint("document_id", "id", name="pk_flow_nodes"),
    Index("ix_flow_nodes_type", "document_id", "type", "id"),
)

flow_connections = Table(
    "flow_connections",
    metadata,
    _document(),
    Column("id", String(_ID), nullable=False),
    Column("flow_id", String(_ID), nullable=False),
    _seq(),
    Column("source_node_id", String(_ID), nullable=False),
    Column("source_pin", String(100), nullable=False),
    Column("target_node_id", String(_ID), nullable=False),
    Column("target_pin", String(100), nullable=False),
    Column("label", String(200)),
    PrimaryKeyConstraint("document_id", "id", name="pk_flow_connections"),
    Index("ix_flow_connections_source", "document_id", "source_node_id"),
)

localized_texts = Table(
    "localized_texts",
    metadata,
    _document(),
    Column("project_id", String(_ID), nullable=False),
    Column("doc_kind", String(16), nullable=False),  # flows | pages
    Column("doc_id", String(_ID), nullable=False),
    _seq(),
    Column("source_type", String(16), nullable=False),  # flow_node | block | page
    Column("source_id", String(_ID), nullable=False),
    Column("source_field", String(200), nullable=False),
    Column("locale_code", String(35), nullable=False),
    Column("source_text", Text, nullable=False),
    Column("translated_text", Text),
    Column("status", String(16), nullable=False),
    Column("translator_notes", Text),
    Column("speaker", String(_ID)),  # the speaking page of a dialogue line
    Column("word_count", Integer, nullable=False),
    PrimaryKeyConstraint(
        "document_id",
        "source_type",
        "source_id",
        "source_field",
        "locale_code",
        name="pk_localized_texts",
    ),
    # Sort-key columns follow the filter columns so that keyset pages are index range scans.
    Index(
        "ix_localized_texts_locale_status",
        "project_id",
        "locale_code",
        "status",
        "source_type",
        "source_id",
        "source_field",
        "document_id",
    ),
    Index(
        "ix_localized_texts_locale",
        "project_id",
        "locale_code",
        "source_type",
        "source_id",
        "source_field",
        "document_id",
    ),
    Index("ix_localized_texts_speaker", "speaker", "locale_code"),
)

entity_references = Table(
    "entity_references",
    metadata,
    _document(),  # the source document
    Column("project_id", String(_ID), nullable=False),
    Column("doc_kind", String(16), nullable=False),
    Column("doc_id", String(_ID), nullable=False),
    _seq(),
    Column("source_type", String(16), nullable=False),  # flow_node | block
    Column("source_id", String(_ID), nullable=False),
    Column("target_type", String(16), nullable=False),  # page | flow
    Column("target_id", String(_ID), nullable=False),
    Column("context", String(32), nullable=False),  # docs/database.md, "References"
    PrimaryKeyConstraint(
        "document_id",
        "source_type",
        "source_id",
        "target_type",
        "target_id",
        "context",
        name="pk_entity_references",
    ),
    Index(
        "ix_entity_references_target",
        "project_id",
        "target_type",
        "target_id",
        "doc_kind",
        "doc_id",
        "source_type",
        "source_id",
        "context",
    ),
)

# Uploaded files (domain.md §1.10). Not a projection: rows come from uploads (not built yet).
assets = Table(
    "assets",
    metadata,
    Column("project_id", String(_ID), nullable=False),
    Column("id", String(_ID), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("key", String(500), nullable=False),
    Column("url", String(1000)),
    Column("metadata", Json, nullable=False),
    Column("blob_hash", String(64)),
    Column("uploaded_by", String(_ID)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("project_id", "id", name="pk_assets"),
    UniqueConstraint("project_id", "key", name="uq_assets_project_id_key"),
    Index("ix_assets_content_type", "project_id", "content_type", "id"),
)

# Replaced together per document, children first (nothing references them, but keep order).
DOCUMENT_TABLES = (
    entity_references,
    localized_texts,
    flow_connections,
    flow_nodes,
    flows,
    project_locales,
    tree_entries,
)
