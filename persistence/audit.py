"""The audit log: sensitive actions, who did them, to what, from where and when.

Entries never hold tokens or document content: `target` names what was acted on (a user id,
a version id) and `detail` is a short fact (`role=viewer`, `ttl=3600`). Membership changes are
written in the same transaction as the change itself (`persistence/identity.py`), so the log
cannot miss one; the server also reads those rows back as its change feed for cutting off
revoked sessions (`server/revocation.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, Select, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.identity_tables import AuditEntryRow
from persistence.store import StoreUnavailable

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)
_AUDIT = AuditEntryRow.__table__


class AuditAction(StrEnum):
    PROJECT_CREATE = "project.create"
    WORKSPACE_CREATE = "workspace.create"
    MEMBER_SET = "member.set"
    MEMBER_REMOVE = "member.remove"
    WORKSPACE_MEMBER_SET = "workspace_member.set"
    WORKSPACE_MEMBER_REMOVE = "workspace_member.remove"
    TOKEN_ISSUE = "token.issue"  # noqa: S105 - an action name, not a secret
    VERSION_RESTORE = "version.restore"


# The actions that can lower someone's access: the change feed of revocations.
MEMBERSHIP_ACTIONS = (
    AuditAction.MEMBER_SET,
    AuditAction.MEMBER_REMOVE,
    AuditAction.WORKSPACE_MEMBER_SET,
    AuditAction.WORKSPACE_MEMBER_REMOVE,
)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What to record; the log adds the id and the time."""

    actor: str
    action: AuditAction
    target: str
    project_id: str | None = None
    workspace_id: str | None = None
    detail: str | None = None
    client_address: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    event: AuditEvent


def _now() -> datetime:
    return datetime.now(UTC)


async def write_audit(conn: AsyncConnection, event: AuditEvent) -> None:
    """Record inside the caller's transaction (it commits with the change it describes)."""
    await conn.execute(
        insert(AuditEntryRow).values(
            at=_now(),
            actor=event.actor[:100],
            action=event.action.value,
            project_id=event.project_id,
            workspace_id=event.workspace_id,
            target=event.target[:200],
            detail=None if event.detail is None else event.detail[:200],
            client_address=None if event.client_address is None else event.client_address[:64],
        )
    )


def _entry(row: Row[Any]) -> AuditEntry:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)  # SQLite drops tz
    return AuditEntry(
        id=row.id,
        at=at,
        event=AuditEvent(
            actor=row.actor,
            action=AuditAction(row.action),
            target=row.target,
            project_id=row.project_id,
            workspace_id=row.workspace_id,
            detail=row.detail,
            client_address=row.client_address,
        ),
    )


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, event: AuditEvent) -> None:
        try:
            async with self._engine.begin() as conn:
                await write_audit(conn, event)
        except _FAULTS as exc:
            raise StoreUnavailable(f"audit write failed: {exc.__class__.__name__}") from exc

    async def for_project(
        self, project_id: str, *, limit: int = 100, before_id: int | None = None
    ) -> list[AuditEntry]:
        """A project's entries, newest first; page with `before_id`."""
        query = select(_AUDIT).where(_AUDIT.c.project_id == project_id)
        if before_id is not None:
            query = query.where(_AUDIT.c.id < before_id)
        return await self._select(query.order_by(_AUDIT.c.id.desc()).limit(limit))

    async def membership_changes_since(self, since: datetime) -> list[AuditEntry]:
        """Membership changes recorded at or after `since`, oldest first."""
        query = (
            select(_AUDIT)
            .where(
                _AUDIT.c.at >= since,
                _AUDIT.c.action.in_([a.value for a in MEMBERSHIP_ACTIONS]),
            )
            .order_by(_AUDIT.c.id)
            .limit(1000)
        )
        return await self._select(query)

    async def _select(self, query: Select[Any]) -> list[AuditEntry]:
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        except _FAULTS as exc:
            raise StoreUnavailable(f"audit read failed: {exc.__class__.__name__}") from exc
        return [_entry(row) for row in rows]
