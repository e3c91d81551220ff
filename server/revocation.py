"""Cutting off sessions whose access was removed or lowered, on every instance.

Two paths lead to the same re-check (read the user's role now, close what exceeds it):
- a fan-out `Signal("revoke", {"user", "project"})`, sent by the instance that made the change
  through the REST API; the fan-out delivers it to every instance, this one included, at once;
- the audit log read back every `STORYARN_ACCESS_POLL_SECONDS`: membership changes made by
  `storyarn member ...` (another process, maybe without Redis) or by any instance whose signal
  was lost. Re-reading a window of recent rows instead of "ids after the last one" keeps rows
  whose transactions committed out of id order; re-checking is idempotent, so seeing a change
  twice costs one query.
The role is read from the database rather than carried in the signal, so a stale signal can
never cut off access that was granted again since.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from persistence.audit import AuditLog
from persistence.store import StoreError
from server.auth import AuthError, Role
from server.fanout import Fanout, Signal
from server.sessions import SessionRegistry

log = structlog.get_logger(__name__)

REVOKE = "revoke"
_WINDOW = timedelta(seconds=10)  # covers commit-order and clock differences between writers


class RoleSource(Protocol):
    async def current_role(self, project_id: str, user_id: str) -> Role | None: ...


class Revocations:
    def __init__(self, sessions: SessionRegistry, roles: RoleSource | None) -> None:
        self._sessions = sessions
        self._roles = roles
        self._fanout: Fanout | None = None

    def attach(self, fanout: Fanout) -> None:
        """Called by the lifespan once the fan-out is open."""
        self._fanout = fanout
        fanout.on_signal(self._on_signal)

    async def announce(self, user_id: str, project_id: str | None) -> None:
        """After a membership change: every instance re-checks the user's sessions."""
        if self._fanout is None:
            await self.recheck(user_id, project_id)
            return
        await self._fanout.signal(Signal(REVOKE, {"user": user_id, "project": project_id}))

    async def _on_signal(self, signal: Signal) -> None:
        if signal.kind == REVOKE and isinstance(signal.data.get("user"), str):
            project = signal.data.get("project")
            await self.recheck(signal.data["user"], project if isinstance(project, str) else None)

    async def recheck(self, user_id: str, project_id: str | None) -> int:
        """Close the user's sessions that hold more than their role now; how many closed.

        `project_id` None (a workspace membership changed) re-checks every project the user
        has a session in here.
        """
        if self._roles is None:
            return 0
        projects = self._sessions.projects_of(user_id) if project_id is None else {project_id}
        closed = 0
        for project in sorted(projects):
            try:
                role = await self._roles.current_role(project, user_id)
            except AuthError as exc:
                # The database is away: sessions keep what they had until the next re-check.
                log.warning("revocation_check_failed", project=project, error=exc.reason)
                continue
            closed += self._sessions.revoke(user_id, project, role)
        return closed

    @contextlib.asynccontextmanager
    async def watching(self, audit: AuditLog, poll_seconds: float) -> AsyncIterator[None]:
        """Poll the audit log for membership changes while the server runs."""
        if poll_seconds <= 0 or self._roles is None:
            yield
            return
        task = asyncio.get_running_loop().create_task(self._watch(audit, poll_seconds))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, audit: AuditLog, poll_seconds: float) -> None:
        seen: dict[int, datetime] = {}
        while True:
            await asyncio.sleep(poll_seconds)
            since = datetime.now(UTC) - _WINDOW
            try:
                entries = await audit.membership_changes_since(since)
            except StoreError as exc:
                log.warning("revocation_poll_failed", error=str(exc))
                continue
            for entry in entries:
                if entry.id in seen:
                    continue
                seen[entry.id] = entry.at
                await self.recheck(entry.event.target, entry.event.project_id)
            seen = {i: at for i, at in seen.items() if at >= since}
