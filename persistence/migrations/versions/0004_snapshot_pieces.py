"""Snapshots may be stored as pieces: where each piece of `data` ends.

A large document's snapshot is cut into pieces that apply in order (`crdt/update_split.py`) when
it is written, so that loading it never applies one huge update on the event loop. `data` holds
the pieces one after the other and `piece_ends` their end offsets ("812,1604,..."); NULL means
one whole update, as every snapshot written before this revision.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_snapshots") as batch:
        batch.add_column(sa.Column("piece_ends", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document_snapshots") as batch:
        batch.drop_column("piece_ends")
