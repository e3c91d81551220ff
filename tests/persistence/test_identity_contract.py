"""One contract, both databases: identity and the audit log on SQLite and Postgres."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.audit import AuditAction, AuditEvent, AuditLog
from persistence.engine import create_engine, sqlite_url
from persistence.identity import (
    Access,
    Actor,
    AlreadyExists,
    IdentityStore,
    LastOwner,
    ProjectRole,
    UnknownProject,
    UnknownWorkspace,
    WorkspaceRole,
)
from persistence.migrate import upgrade

OPS = Actor("cli", "10.0.0.1")


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


def _id(prefix: str) -> str:
    # Each test has rows of its own: the Postgres database is shared by the run.
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_identity_project_create_and_lookup(engine: AsyncEngine) -> None:
    store = IdentityStore(engine)
    pid = _id("p")
    info = await store.create_project("The Tavern", actor=OPS, project_id=pid)
    assert (info.id, info.name, info.workspace_id) == (pid, "The Tavern", None)
    assert await store.project(pid) == info
    assert await store.project(_id("missing")) is None
    with pytest.raises(AlreadyExists):
        await store.create_project("again", actor=OPS, project_id=pid)
    generated = await store.create_project("Generated id", actor=OPS)
    assert len(generated.id) == 36


async def test_identity_refuses_bad_ids_and_names(engine: AsyncEngine) -> None:
    store = IdentityStore(engine)
    with pytest.raises(ValueError, match="project id"):
        await store.create_project("x", actor=OPS, project_id="bad id!")
    with pytest.raises(ValueError, match="name"):
        await store.create_project("", actor=OPS)
    pid = (await store.create_project("p", actor=OPS)).id
    with pytest.raises(ValueError, match="user id"):
        await store.set_member(pid, "no spaces", ProjectRole.EDITOR, actor=OPS)


async def test_identity_access_follows_direct_membership(engine: AsyncEngine) -> None:
    store = IdentityStore(engine)
    pid = (await store.create_project("p", actor=OPS)).id
    assert await store.access(pid, "ann") == Access(True, None)
    assert await store.access(_id("nope"), "ann") == Access(False, None)
    assert await store.set_member(pid, "ann", ProjectRole.EDITOR, actor=OPS) is None
    assert await store.access(pid, "ann") == Access(True, ProjectRole.EDITOR)
    assert await store.set_member(pid, "ann", ProjectRole.VIEWER, actor=OPS) is ProjectRole.EDITOR
    assert await store.access(pid, "ann") == Access(True, ProjectRole.VIEWER)
    assert await store.remove_member(pid, "ann", actor=OPS) is ProjectRole.VIEWER
    assert await store.remove_member(pid, "ann", actor=OPS) is None
    assert await store.access(pid, "ann") == Access(True, None)


async def test_identity_workspace_roles_map_to_project_roles(engine: AsyncEngine) -> None:
    store = IdentityStore(engine)
    ws = await store.create_workspace("Studio", actor=OPS)
    pid = (await store.create_project("p", actor=OPS, workspace_id=ws)).id
    assert await store.workspace_projects(ws) == [pid]
    expected = {
        WorkspaceRole.OWNER: ProjectRole.EDITOR,
        WorkspaceRole.ADMIN: ProjectRole.EDITOR,
        WorkspaceRole.MEMBER: ProjectRole.EDITOR,
        WorkspaceRole.VIEWER: ProjectRole.VIEWER,
    }
    for workspace_role, project_role in expected.items():
        await store.set_workspace_member(ws, "bob", workspace_role, actor=OPS)
        assert (await store.access(pid, "bob")).role is project_role
    # A direct membership wins over the workspace's.
    await store.set_member(pid, "bob", ProjectRole.OWNER, actor=OPS)
    assert (await store.access(pid, "bob")).role is ProjectRole.OWNER
    await store.remove_member(pid, "bob", actor=OPS)
    assert (await store.access(pid, "bob")).role is ProjectRole.VIEWER
    assert await store.remove_workspace_member(ws, "bob", actor=OPS) is True
    assert await store.remove_workspace_member(ws, "bob", actor=OPS) is False
    assert (await store.access(pid, "bob")).role is None
    with pytest.raises(UnknownWorkspace):
        await store.create_project("p", actor=OPS, workspace_id=_id("ws"))


async def test_identity_membership_of_unknown_project_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(UnknownProject):
        await IdentityStore(engine).set_member(_id("p"), "ann", ProjectRole.EDITOR, actor=OPS)


async def test_identity_keeps_an_owner_when_asked(engine: AsyncEngine) -> None:
    store = IdentityStore(engine)
    pid = (await store.create_project("p", actor=OPS)).id
    await store.set_member(pid, "ann", ProjectRole.OWNER, actor=OPS)
    with pytest.raises(LastOwner):
        await store.set_member(pid, "ann", ProjectRole.EDITOR, actor=OPS, keep_an_owner=True)
    with pytest.raises(LastOwner):
        await store.remove_member(pid, "ann", actor=OPS, keep_an_owner=True)
    assert (await store.access(pid, "ann")).role is ProjectRole.OWNER  # rolled back
    await store.set_member(pid, "bob", ProjectRole.OWNER, actor=OPS)
    await store.remove_member(pid, "ann", actor=OPS, keep_an_owner=True)
    assert [(m.user_id, m.role) for m in await store.members(pid)] == [("bob", ProjectRole.OWNER)]


async def test_identity_ensure_project_creates_once(engine: AsyncEngine) -> None:
    store = IdentityStore(engine)
    pid = _id("dev")
    results = await asyncio.gather(*(store.ensure_project(pid) for _ in range(4)))
    assert results.count(True) == 1
    assert await store.project(pid) is not None


async def test_audit_records_membership_changes_in_the_same_transaction(
    engine: AsyncEngine,
) -> None:
    store, audit = IdentityStore(engine), AuditLog(engine)
    before = datetime.now(UTC) - timedelta(seconds=1)
    pid = (await store.create_project("p", actor=OPS)).id
    await store.set_member(pid, "ann", ProjectRole.EDITOR, actor=OPS)
    await store.set_member(pid, "ann", ProjectRole.VIEWER, actor=Actor("bob", "192.0.2.7"))
    await store.remove_member(pid, "ann", actor=OPS)
    await store.set_member(pid, "zed", ProjectRole.OWNER, actor=OPS)
    with pytest.raises(LastOwner):  # refused: no entry either
        await store.remove_member(pid, "zed", actor=OPS, keep_an_owner=True)
    entries = await audit.for_project(pid)
    actions = [(e.event.action, e.event.target, e.event.detail) for e in entries]
    assert actions == [
        (AuditAction.MEMBER_SET, "zed", "role=owner"),
        (AuditAction.MEMBER_REMOVE, "ann", "was=viewer"),
        (AuditAction.MEMBER_SET, "ann", "role=viewer was=editor"),
        (AuditAction.MEMBER_SET, "ann", "role=editor"),
        (AuditAction.PROJECT_CREATE, pid, None),
    ]
    assert entries[2].event.actor == "bob"
    assert entries[2].event.client_address == "192.0.2.7"
    assert all(e.at >= before for e in entries)
    page = await audit.for_project(pid, limit=2, before_id=entries[1].id)
    assert [e.id for e in page] == [entries[2].id, entries[3].id]
    changes = await audit.membership_changes_since(before)
    mine = [e for e in changes if e.event.project_id == pid]
    assert [e.event.action for e in mine] == [
        AuditAction.MEMBER_SET,
        AuditAction.MEMBER_SET,
        AuditAction.MEMBER_REMOVE,
        AuditAction.MEMBER_SET,
    ]


async def test_audit_record_standalone_events(engine: AsyncEngine) -> None:
    audit = AuditLog(engine)
    pid = _id("p")
    event = AuditEvent(
        actor="ann",
        action=AuditAction.VERSION_RESTORE,
        target="flows/f1@3",
        project_id=pid,
        client_address="198.51.100.1",
    )
    await audit.record(event)
    entries = await audit.for_project(pid)
    assert [e.event for e in entries] == [event]
