"""Jobs: background work (exports first) with its status, progress and result.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result_key", sa.String(512), nullable=True),
        sa.Column("result_filename", sa.String(255), nullable=True),
        sa.Column("result_size", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_project_id_created_at", "jobs", ["project_id", "created_at"])
    op.create_index("ix_jobs_status_updated_at", "jobs", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_updated_at", table_name="jobs")
    op.drop_index("ix_jobs_project_id_created_at", table_name="jobs")
    op.drop_table("jobs")
