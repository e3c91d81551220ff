"""Live websocket sessions by user: the concurrent-connection limit, token expiry, revocation.

A session starts right after authentication and ends with its socket. While it lives:
- at most `max_per_user` sessions per user on this instance (beyond: 4429);
- a timer closes it with 4401 when its token expires (one `call_later` handle each, so the
  cost is a heap entry, not a task);
- `revoke(user, project, role)` closes with 4403 the user's sessions in that project whose role
  is above `role` (None: no access left). A revocation that lands while a session's
  authentication was still reading the old role is remembered briefly, and that session is
  refused as it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import structlog

from server.auth import Role, outranks
from server.close_codes import CloseCode
from server.connection import Connection

log = structlog.get_logger(__name__)

_REMEMBER_SECONDS = 30.0  # far longer than any authentication takes


@dataclass(slots=True)
class _Session:
    conn: Connection
    project_id: str
    timer: asyncio.TimerHandle | None


class SessionRegistry:
    def __init__(self, *, max_per_user: int = 0) -> None:
        self._max_per_user = max_per_user
        self._by_user: dict[str, dict[int, _Session]] = {}
        # (user, project) -> (monotonic time, role left) of recent revocations.
        self._revoked: dict[tuple[str, str], tuple[float, Role | None]] = {}

    def count(self, user_id: str) -> int:
        return len(self._by_user.get(user_id, ()))

    def projects_of(self, user_id: str) -> set[str]:
        return {s.project_id for s in self._by_user.get(user_id, {}).values()}

    @contextlib.contextmanager
    def session(
        self, conn: Connection, project_id: str, *, authenticated_since: float
    ) -> Iterator[None]:
        """Hold a session for `conn`; it is closed at once if it may not start."""
        principal = conn.principal
        user = principal.user_id
        sessions = self._by_user.setdefault(user, {})
        revoked = self._revoked.get((user, project_id))
        if 0 < self._max_per_user <= len(sessions):
            conn.close(CloseCode.RATE_LIMITED, "too many connections for this user")
        elif (
            revoked is not None
            and revoked[0] >= authenticated_since
            and outranks(principal.role, revoked[1])
        ):
            conn.close(CloseCode.FORBIDDEN, "access revoked")
        timer = None
        if principal.expires_at is not None and not conn.closing:
            delay = max(0.0, principal.expires_at - time.time())
            timer = asyncio.get_running_loop().call_later(
                delay, conn.close, CloseCode.UNAUTHENTICATED, "token expired"
            )
        if not conn.closing:
            sessions[conn.id] = _Session(conn, project_id, timer)
        try:
            yield
        finally:
            if timer is not None:
                timer.cancel()
            sessions.pop(conn.id, None)
            if not sessions:
                self._by_user.pop(user, None)

    def revoke(self, user_id: str, project_id: str, role: Role | None) -> int:
        """Close the user's sessions in the project that hold more than `role`; how many."""
        now = time.monotonic()
        self._revoked = {k: v for k, v in self._revoked.items() if now - v[0] < _REMEMBER_SECONDS}
        self._revoked[(user_id, project_id)] = (now, role)
        closed = 0
        for session in list(self._by_user.get(user_id, {}).values()):
            conn = session.conn
            if (
                session.project_id == project_id
                and not conn.closing
                and outranks(conn.principal.role, role)
            ):
                conn.close(CloseCode.FORBIDDEN, "access revoked")
                closed += 1
        if closed:
            log.info(
                "sessions_revoked",
                user_id=user_id,
                project=project_id,
                role=None if role is None else role.value,
                closed=closed,
            )
        return closed
