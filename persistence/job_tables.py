"""The `jobs` table: background work a user asked for, and what came of it. Migration 0005."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base


class JobRow(Base):
    """status: queued | running | done | failed | expired (the result was cleaned up)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_project_id_created_at", "project_id", "created_at"),
        Index("ix_jobs_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # "export"
    params: Mapped[str] = mapped_column(Text)  # JSON: {"format": "storyarn"}
    status: Mapped[str] = mapped_column(String(16))
    percent: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result_key: Mapped[str | None] = mapped_column(String(512))
    result_filename: Mapped[str | None] = mapped_column(String(255))
    result_size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
