"""`JwtAuthenticator`: a verified JWT names the user, the membership tables give the role.

Outside development: no token or a bad one is 4401, an unknown project 4404, a user without a
role in the project 4403. In development (DESIGN.md §5) a token that is not a JWT is a name and
its bearer an editor, an unknown project is created on first use, and a user without a
membership is an editor; a JWT is still verified, so an expired one is refused there too, and a
membership (a viewer's, say) still applies.
"""

from __future__ import annotations

import jwt

from persistence.identity import IdentityStore
from persistence.store import StoreError
from server.auth import (
    AuthUnavailable,
    DevelopmentAuthenticator,
    Forbidden,
    Handshake,
    NoSuchProject,
    Principal,
    Role,
    Unauthenticated,
)
from server.tokens import TokenError, TokenVerifier


def looks_like_jwt(token: str) -> bool:
    """Three segments whose first decodes as a JOSE header: anything else is a name."""
    if token.count(".") != 2:
        return False
    try:
        jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return False
    return True


class JwtAuthenticator:
    def __init__(
        self, verifier: TokenVerifier, identity: IdentityStore, *, development: bool = False
    ) -> None:
        self._verifier = verifier
        self._identity = identity
        self._development = development
        self._names = DevelopmentAuthenticator()

    async def authenticate(self, handshake: Handshake) -> Principal:
        """The principal in `handshake.project_id`; an empty project id checks the token only."""
        token = handshake.token
        if self._development and (token is None or not looks_like_jwt(token)):
            user_id = (await self._names.authenticate(handshake)).user_id
            expires_at = None
        else:
            if token is None:
                raise Unauthenticated("a token is required")
            try:
                claims = self._verifier.verify(token)
            except TokenError as exc:
                raise Unauthenticated(exc.reason) from exc
            user_id = claims.sub
            expires_at = claims.exp + self._verifier.leeway_seconds
        if not handshake.project_id:
            return Principal(user_id, Role.VIEWER, expires_at)
        role = await self._role(handshake.project_id, user_id, create=True)
        if role is None:
            raise Forbidden("not a member of this project")
        return Principal(user_id, role, expires_at)

    async def current_role(self, project_id: str, user_id: str) -> Role | None:
        """The role a user has now (None: no access); what revocation re-checks."""
        try:
            return await self._role(project_id, user_id, create=False)
        except NoSuchProject:
            return None

    async def _role(self, project_id: str, user_id: str, *, create: bool) -> Role | None:
        try:
            access = await self._identity.access(project_id, user_id)
            if not access.project_exists:
                if not self._development:
                    raise NoSuchProject()
                if create:
                    await self._identity.ensure_project(project_id)
        except StoreError as exc:
            raise AuthUnavailable() from exc
        if access.role is not None:
            return Role(access.role.value)
        return Role.EDITOR if self._development else None
