"""Who is connecting, and with which role: the authenticator port and its development form.

The sync endpoint calls `Authenticator.authenticate(handshake)` once per connection, before it
joins a room. `server/jwt_auth.py` implements it with JWTs and memberships; without a database
(STORYARN_STORE=memory) production refuses everyone, which is the safe default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from server.close_codes import CloseCode


class Role(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def can_write(self) -> bool:
        return self is not Role.VIEWER


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    role: Role
    expires_at: float | None = None  # epoch seconds; the session is closed (4401) then


_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


def outranks(role: Role, other: Role | None) -> bool:
    """Whether `role` grants more than `other` (None: no access at all)."""
    return other is None or _RANK[role] > _RANK[other]


@dataclass(frozen=True, slots=True)
class Handshake:
    project_id: str
    token: str | None  # from ?token= or "Authorization: Bearer"; never logged
    headers: Mapping[str, str]
    client_host: str | None


class AuthError(Exception):
    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Unauthenticated(AuthError):
    def __init__(self, reason: str = "authentication required") -> None:
        super().__init__(CloseCode.UNAUTHENTICATED, reason)


class Forbidden(AuthError):
    def __init__(self, reason: str = "forbidden") -> None:
        super().__init__(CloseCode.FORBIDDEN, reason)


class NoSuchProject(AuthError):
    def __init__(self, reason: str = "no such project") -> None:
        super().__init__(CloseCode.NOT_FOUND, reason)


class RateLimited(AuthError):
    def __init__(self, reason: str = "too many attempts, slow down") -> None:
        super().__init__(CloseCode.RATE_LIMITED, reason)


class AuthUnavailable(AuthError):
    """Who may connect could not be checked (the database did not answer)."""

    def __init__(self, reason: str = "identity storage unavailable") -> None:
        super().__init__(CloseCode.TRY_AGAIN_LATER, reason)


class Authenticator(Protocol):
    async def authenticate(self, handshake: Handshake) -> Principal:
        """Return who connects and their role in the project, or raise an `AuthError`."""
        ...


_DEV_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class DevelopmentAuthenticator:
    """Development only: anyone is an editor named after their token, or `anonymous`."""

    async def authenticate(self, handshake: Handshake) -> Principal:
        name = handshake.token or "anonymous"
        if not _DEV_NAME.match(name):
            raise Unauthenticated("development names are 1-64 of A-Z a-z 0-9 _ . @ -")
        return Principal(user_id=name, role=Role.EDITOR)


class RefuseAllAuthenticator:
    """What runs when no real authenticator is configured outside development."""

    async def authenticate(self, handshake: Handshake) -> Principal:
        raise Unauthenticated("no authenticator is configured on this server")


class StaticAuthenticator:
    """A fixed token -> principal table, for operators' scripts and tests."""

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._principals = dict(principals)

    async def authenticate(self, handshake: Handshake) -> Principal:
        if handshake.token is None:
            raise Unauthenticated()
        principal = self._principals.get(handshake.token)
        if principal is None:
            raise Unauthenticated("unknown token")
        return principal
