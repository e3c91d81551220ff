"""`IdentityStore`: users, workspaces, projects and memberships in SQLite or Postgres.

Roles follow Storyarn (notes/domain.md §1.1): a project membership is owner, editor or viewer;
a workspace membership is owner, admin, member or viewer. The effective project role is the
direct membership if there is one, otherwise the workspace role mapped (owner, admin, member ->
editor; viewer -> viewer). Every membership change writes its audit entry in the same
transaction.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.audit import AuditAction, AuditEvent, write_audit
from persistence.identity_tables import Project, ProjectMember, User, Workspace, WorkspaceMember
from persistence.store import StoreError, StoreUnavailable

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)
_PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_MAX_NAME = 200


class ProjectRole(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class WorkspaceRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


WORKSPACE_TO_PROJECT = {
    WorkspaceRole.OWNER: ProjectRole.EDITOR,
    WorkspaceRole.ADMIN: ProjectRole.EDITOR,
    WorkspaceRole.MEMBER: ProjectRole.EDITOR,
    WorkspaceRole.VIEWER: ProjectRole.VIEWER,
}


class IdentityError(StoreError):
    """A request the identity data refuses (the message says why)."""


class UnknownProject(IdentityError):
    pass


class UnknownWorkspace(IdentityError):
    pass


class AlreadyExists(IdentityError):
    pass


class LastOwner(IdentityError):
    """The change would leave a project without an owner."""


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: str
    name: str
    workspace_id: str | None


@dataclass(frozen=True, slots=True)
class Membership:
    user_id: str
    role: ProjectRole


@dataclass(frozen=True, slots=True)
class Access:
    """A user's standing in a project: whether it exists, and the effective role if any."""

    project_exists: bool
    role: ProjectRole | None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, and from which address: what the audit entry records."""

    name: str
    client_address: str | None = None


def valid_user_id(value: str) -> bool:
    return _USER_ID.match(value) is not None


def valid_project_id(value: str) -> bool:
    return _PROJECT_ID.match(value) is not None


def _now() -> datetime:
    return datetime.now(UTC)


def _check(value: str, pattern: re.Pattern[str], what: str) -> None:
    if not pattern.match(value):
        raise ValueError(f"{what} {value!r} is not 1-64 of the allowed characters")


def _check_name(name: str) -> None:
    if not 0 < len(name) <= _MAX_NAME:
        raise ValueError(f"a name is 1 to {_MAX_NAME} characters")


class IdentityStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise AlreadyExists("that already exists") from exc
        except _FAULTS as exc:
            raise StoreUnavailable(f"database write failed: {exc.__class__.__name__}") from exc

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                yield conn
        except _FAULTS as exc:
            raise StoreUnavailable(f"database read failed: {exc.__class__.__name__}") from exc

    def _insert(self, conn: AsyncConnection, table: Any) -> Any:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def _ensure_user(self, conn: AsyncConnection, user_id: str) -> None:
        _check(user_id, _USER_ID, "user id")
        statement = self._insert(conn, User).values(id=user_id, created_at=_now())
        await conn.execute(statement.on_conflict_do_nothing())

    # -- workspaces and projects ---------------------------------------------------------------

    async def create_workspace(
        self, name: str, *, actor: Actor, workspace_id: str | None = None
    ) -> str:
        _check_name(name)
        workspace_id = workspace_id or str(uuid.uuid4())
        _check(workspace_id, _PROJECT_ID, "workspace id")
        async with self._write() as conn:
            await conn.execute(
                insert(Workspace).values(id=workspace_id, name=name, created_at=_now())
            )
            await write_audit(
                conn, _event(actor, AuditAction.WORKSPACE_CREATE, workspace_id, ws=workspace_id)
            )
        return workspace_id

    async def create_project(
        self,
        name: str,
        *,
        actor: Actor,
        project_id: str | None = None,
        workspace_id: str | None = None,
    ) -> ProjectInfo:
        _check_name(name)
        project_id = project_id or str(uuid.uuid4())
        _check(project_id, _PROJECT_ID, "project id")
        async with self._write() as conn:
            if workspace_id is not None and not await _exists(conn, Workspace, workspace_id):
                raise UnknownWorkspace(f"no workspace {workspace_id}")
            await conn.execute(
                insert(Project).values(
                    id=project_id, name=name, workspace_id=workspace_id, created_at=_now()
                )
            )
            await write_audit(
                conn, _event(actor, AuditAction.PROJECT_CREATE, project_id, project=project_id)
            )
        return ProjectInfo(project_id, name, workspace_id)

    async def ensure_project(self, project_id: str) -> bool:
        """Create the project if it is missing (development only); True if it was created."""
        _check(project_id, _PROJECT_ID, "project id")
        async with self._write() as conn:
            if await _exists(conn, Project, project_id):
                return False
            statement = self._insert(conn, Project).values(
                id=project_id, name=project_id, workspace_id=None, created_at=_now()
            )
            created = await conn.execute(statement.on_conflict_do_nothing())
            return bool(created.rowcount)

    async def project(self, project_id: str) -> ProjectInfo | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(Project.id, Project.name, Project.workspace_id).where(
                        Project.id == project_id
                    )
                )
            ).first()
        return None if row is None else ProjectInfo(row.id, row.name, row.workspace_id)

    # -- memberships ---------------------------------------------------------------------------

    async def access(self, project_id: str, user_id: str) -> Access:
        """The effective role in one statement: it runs on every connection."""
        direct = (
            select(ProjectMember.role)
            .where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
            .scalar_subquery()
        )
        inherited = (
            select(WorkspaceMember.role)
            .where(
                WorkspaceMember.workspace_id == Project.workspace_id,
                WorkspaceMember.user_id == user_id,
            )
            .scalar_subquery()
        )
        query = select(direct.label("direct"), inherited.label("inherited")).where(
            Project.id == project_id
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return Access(project_exists=False, role=None)
        if row.direct is not None:
            return Access(True, ProjectRole(row.direct))
        if row.inherited is not None:
            return Access(True, WORKSPACE_TO_PROJECT[WorkspaceRole(row.inherited)])
        return Access(True, None)

    async def members(self, project_id: str) -> list[Membership]:
        async with self._read() as conn:
            rows = (
                await conn.execute(
                    select(ProjectMember.user_id, ProjectMember.role)
                    .where(ProjectMember.project_id == project_id)
                    .order_by(ProjectMember.user_id)
                )
            ).all()
        return [Membership(row.user_id, ProjectRole(row.role)) for row in rows]

    async def set_member(
        self,
        project_id: str,
        user_id: str,
        role: ProjectRole,
        *,
        actor: Actor,
        keep_an_owner: bool = False,
    ) -> ProjectRole | None:
        """Give `user_id` this role in the project; return the previous direct role."""
        async with self._write() as conn:
            if not await _exists(conn, Project, project_id):
                raise UnknownProject(f"no project {project_id}")
            await self._ensure_user(conn, user_id)
            previous = await _direct_role(conn, project_id, user_id)
            statement = self._insert(conn, ProjectMember).values(
                project_id=project_id, user_id=user_id, role=role.value, updated_at=_now()
            )
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["project_id", "user_id"],
                    set_={"role": role.value, "updated_at": _now()},
                )
            )
            if keep_an_owner and previous is ProjectRole.OWNER:
                await _require_owner(conn, project_id)
            detail = f"role={role.value}" + (f" was={previous.value}" if previous else "")
            await write_audit(
                conn,
                _event(actor, AuditAction.MEMBER_SET, user_id, project=project_id, detail=detail),
            )
        return previous

    async def remove_member(
        self, project_id: str, user_id: str, *, actor: Actor, keep_an_owner: bool = False
    ) -> ProjectRole | None:
        """Remove the direct membership; return the role it had (None: there was none)."""
        async with self._write() as conn:
            previous = await _direct_role(conn, project_id, user_id)
            if previous is None:
                return None
            await conn.execute(
                delete(ProjectMember).where(
                    ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
                )
            )
            if keep_an_owner and previous is ProjectRole.OWNER:
                await _require_owner(conn, project_id)
            await write_audit(
                conn,
                _event(
                    actor,
                    AuditAction.MEMBER_REMOVE,
                    user_id,
                    project=project_id,
                    detail=f"was={previous.value}",
                ),
            )
        return previous

    async def set_workspace_member(
        self, workspace_id: str, user_id: str, role: WorkspaceRole, *, actor: Actor
    ) -> None:
        async with self._write() as conn:
            if not await _exists(conn, Workspace, workspace_id):
                raise UnknownWorkspace(f"no workspace {workspace_id}")
            await self._ensure_user(conn, user_id)
            statement = self._insert(conn, WorkspaceMember).values(
                workspace_id=workspace_id, user_id=user_id, role=role.value, updated_at=_now()
            )
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["workspace_id", "user_id"],
                    set_={"role": role.value, "updated_at": _now()},
                )
            )
            event = _event(
                actor,
                AuditAction.WORKSPACE_MEMBER_SET,
                user_id,
                ws=workspace_id,
                detail=f"role={role.value}",
            )
            await write_audit(conn, event)

    async def remove_workspace_member(
        self, workspace_id: str, user_id: str, *, actor: Actor
    ) -> bool:
        async with self._write() as conn:
            removed = await conn.execute(
                delete(WorkspaceMember).where(
                    WorkspaceMember.workspace_id == workspace_id,
                    WorkspaceMember.user_id == user_id,
                )
            )
            if not removed.rowcount:
                return False
            event = _event(actor, AuditAction.WORKSPACE_MEMBER_REMOVE, user_id, ws=workspace_id)
            await write_audit(conn, event)
        return True

    async def workspace_projects(self, workspace_id: str) -> list[str]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(Project.id).where(Project.workspace_id == workspace_id).order_by(Project.id)
            )
            return list(rows.scalars())


def _event(
    actor: Actor,
    action: AuditAction,
    target: str,
    *,
    project: str | None = None,
    ws: str | None = None,
    detail: str | None = None,
) -> AuditEvent:
    return AuditEvent(
        actor=actor.name,
        action=action,
        target=target,
        project_id=project,
        workspace_id=ws,
        detail=detail,
        client_address=actor.client_address,
    )


async def _exists(conn: AsyncConnection, table: Any, key: str) -> bool:
    found = await conn.execute(select(table.id).where(table.id == key))
    return found.first() is not None


async def _direct_role(conn: AsyncConnection, project_id: str, user_id: str) -> ProjectRole | None:
    role = (
        await conn.execute(
            select(ProjectMember.role).where(
                ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
            )
        )
    ).scalar_one_or_none()
    return None if role is None else ProjectRole(role)


async def _require_owner(conn: AsyncConnection, project_id: str) -> None:
    owners = (
        await conn.execute(
            select(func.count()).where(
                ProjectMember.project_id == project_id,
                ProjectMember.role == ProjectRole.OWNER.value,
            )
        )
    ).scalar_one()
    if owners == 0:
        raise LastOwner("a project keeps at least one owner")
