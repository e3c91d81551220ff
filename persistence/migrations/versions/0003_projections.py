"""Relational projections of documents: tree entries, locales, flows, nodes, connections,
localized texts, entity references, their projection state, and the assets table.

Empty at creation: `storyarn projections rebuild` (or the running server's projector) fills
them from the stored documents.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("blob_hash", sa.String(length=64), nullable=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("project_id", "id", name="pk_assets"),
        sa.UniqueConstraint("project_id", "key", name="uq_assets_project_id_key"),
    )
    op.create_index(
        "ix_assets_content_type", "assets", ["project_id", "content_type", "id"], unique=False
    )
    op.create_table(
        "entity_references",
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("doc_kind", sa.String(length=16), nullable=False),
        sa.Column("doc_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("context", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_entity_references_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "document_id",
            "source_type",
            "source_id",
            "target_type",
            "target_id",
            "context",
            name="pk_entity_references",
        ),
    )
    op.create_index(
        "ix_entity_references_target",
        "entity_references",
        [
            "project_id",
            "target_type",
            "target_id",
            "doc_kind",
            "doc_id",
            "source_type",
            "source_id",
            "context",
        ],
        unique=False,
    )
    op.create_table(
        "flow_connections",
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("source_node_id", sa.String(length=64), nullable=False),
        sa.Column("source_pin", sa.String(length=100), nullable=False),
        sa.Column("target_node_id", sa.String(length=64), nullable=False),
        sa.Column("target_pin", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_flow_connections_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "id", name="pk_flow_connections"),
    )
    op.create_index(
        "ix_flow_connections_source",
        "flow_connections",
        ["document_id", "source_node_id"],
        unique=False,
    )
    op.create_table(
        "flow_nodes",
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("data", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_flow_nodes_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "id", name="pk_flow_nodes"),
    )
    op.create_index("ix_flow_nodes_type", "flow_nodes", ["document_id", "type", "id"], unique=False)
    op.create_table(
        "flows",
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("shortcut", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_main", sa.Boolean(), nullable=False),
        sa.Column("entry_node_id", sa.String(length=64), nullable=True),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("connection_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_flows_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_flows")),
        sa.UniqueConstraint("project_id", "id", name="uq_flows_project_id_id"),
    )
    op.create_table(
        "localized_texts",
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("doc_kind", sa.String(length=16), nullable=False),
        sa.Column("doc_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("source_field", sa.String(length=200), nullable=False),
        sa.Column("locale_code", sa.String(length=35), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("translated_text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("translator_notes", sa.Text(), nullable=True),
        sa.Column("speaker", sa.String(length=64), nullable=True),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_localized_texts_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "document_id",
            "source_type",
            "source_id",
            "source_field",
            "locale_code",
            name="pk_localized_texts",
        ),
    )
    op.create_index(
        "ix_localized_texts_locale",
        "localized_texts",
        ["project_id", "locale_code", "source_type", "source_id", "source_field", "document_id"],
        unique=False,
    )
    op.create_index(
        "ix_localized_texts_locale_status",
        "localized_texts",
        [
            "project_id",
            "locale_code",
            "status",
            "source_type",
            "source_id",
            "source_field",
            "document_id",
        ],
        unique=False,
    )
    op.create_index(
        "ix_localized_texts_speaker", "localized_texts", ["speaker", "locale_code"], unique=False
    )
    op.create_table(
        "project_locales",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("locale_code", sa.String(length=35), nullable=False),
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_source", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_project_locales_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "locale_code", name="pk_project_locales"),
    )
    op.create_index(
        "ix_project_locales_document_id", "project_locales", ["document_id"], unique=False
    )
    op.create_table(
        "projection_state",
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("doc_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("context_seq", sa.BigInteger(), nullable=False),
        sa.Column("flags", _JSON, nullable=False),
        sa.Column("projected_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_projection_state_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_projection_state")),
    )
    op.create_index(
        "ix_projection_state_project_id", "projection_state", ["project_id", "kind"], unique=False
    )
    op.create_table(
        "tree_entries",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("shortcut", sa.String(length=64), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_tree_entries_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "kind", "id", name="pk_tree_entries"),
    )
    op.create_index(
        "ix_tree_entries_children",
        "tree_entries",
        ["project_id", "parent_id", "position", "kind", "id"],
        unique=False,
    )
    op.create_index("ix_tree_entries_document_id", "tree_entries", ["document_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tree_entries_document_id", table_name="tree_entries")
    op.drop_index("ix_tree_entries_children", table_name="tree_entries")
    op.drop_table("tree_entries")
    op.drop_index("ix_projection_state_project_id", table_name="projection_state")
    op.drop_table("projection_state")
    op.drop_index("ix_project_locales_document_id", table_name="project_locales")
    op.drop_table("project_locales")
    op.drop_index("ix_localized_texts_speaker", table_name="localized_texts")
    op.drop_index("ix_localized_texts_locale_status", table_name="localized_texts")
    op.drop_index("ix_localized_texts_locale", table_name="localized_texts")
    op.drop_table("localized_texts")
    op.drop_table("flows")
    op.drop_index("ix_flow_nodes_type", table_name="flow_nodes")
    op.drop_table("flow_nodes")
    op.drop_index("ix_flow_connections_source", table_name="flow_connections")
    op.drop_table("flow_connections")
    op.drop_index("ix_entity_references_target", table_name="entity_references")
    op.drop_table("entity_references")
    op.drop_index("ix_assets_content_type", table_name="assets")
    op.drop_table("assets")
