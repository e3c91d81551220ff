"""Who may do what, assembled for the app: authenticators, limits, sessions, revocation.

`build_access(settings, engine, authenticator)` picks the authenticator (a test's own, JWT with
memberships when there is a database, the development one, or refuse-all) and wraps it in the
rate limits of each surface; `Access.running(fanout)` is the lifespan's part (revocation signals
and the membership-change poll). `app.py` only wires these in; the member routes are
registered by `server/api.py`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.audit import AuditLog
from persistence.identity import IdentityStore
from server.auth import Authenticator, DevelopmentAuthenticator, RefuseAllAuthenticator
from server.fanout import Fanout
from server.jwt_auth import JwtAuthenticator
from server.ratelimit import KeyedLimiter, RateLimitedAuthenticator
from server.revocation import Revocations
from server.security_settings import token_verifier
from server.sessions import SessionRegistry
from server.settings import Settings


@dataclass(slots=True)
class Access:
    settings: Settings
    identity: IdentityStore | None
    audit: AuditLog | None
    authenticator: Authenticator  # unlimited: for server-side checks
    websocket_auth: RateLimitedAuthenticator
    api_auth: RateLimitedAuthenticator
    sessions: SessionRegistry
    revocations: Revocations

    @contextlib.asynccontextmanager
    async def running(self, fanout: Fanout) -> AsyncIterator[None]:
        self.revocations.attach(fanout)
        if self.audit is None:
            yield
            return
        async with self.revocations.watching(self.audit, self.settings.access_poll_seconds):
            yield


def default_authenticator(settings: Settings, identity: IdentityStore | None) -> Authenticator:
    if identity is not None:
        return JwtAuthenticator(
            token_verifier(settings), identity, development=settings.is_development
        )
    if settings.is_development:
        return DevelopmentAuthenticator()
    return RefuseAllAuthenticator()  # no database, no memberships: nobody may connect


def build_access(
    settings: Settings, engine: AsyncEngine | None, authenticator: Authenticator | None
) -> Access:
    identity = IdentityStore(engine) if engine is not None else None
    audit = AuditLog(engine) if engine is not None else None
    auth = authenticator if authenticator is not None else default_authenticator(settings, identity)
    sessions = SessionRegistry(max_per_user=settings.max_connections_per_user)
    roles = auth if isinstance(auth, JwtAuthenticator) else None
    s = settings
    return Access(
        settings=settings,
        identity=identity,
        audit=audit,
        authenticator=auth,
        websocket_auth=RateLimitedAuthenticator(
            auth,
            KeyedLimiter(s.connect_rate_per_address, s.connect_burst_per_address),
            KeyedLimiter(s.connect_rate_per_user, s.connect_burst_per_user),
        ),
        api_auth=RateLimitedAuthenticator(
            auth,
            KeyedLimiter(s.api_rate_per_address, s.api_burst_per_address),
            KeyedLimiter(s.api_rate_per_user, s.api_burst_per_user),
        ),
        sessions=sessions,
        revocations=Revocations(sessions, roles),
    )
