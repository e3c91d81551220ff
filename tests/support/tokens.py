"""Tokens and identity rows for tests: real JWTs signed like production's, real memberships."""

from __future__ import annotations

import time
from typing import Any

import jwt

from persistence.identity import Actor, IdentityStore, ProjectRole
from tests.support.live_server import TEST_SECRET, LiveServer

TEST_ACTOR = Actor("test", "127.0.0.1")


def make_token(
    sub: str,
    *,
    ttl: float = 3600,
    secret: str = TEST_SECRET,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    now = time.time()
    payload: dict[str, Any] = {"sub": sub, "iat": int(now), "exp": int(now + ttl), **claims}
    return jwt.encode(payload, secret, algorithm=algorithm, headers=headers)


def alg_none_token(sub: str) -> str:
    """What an attacker forges: no signature at all."""
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + 3600}, None, algorithm="none")


def identity_of(srv: LiveServer) -> IdentityStore:
    access = srv.services.access
    assert access is not None and access.identity is not None
    return access.identity


async def seed_project(srv: LiveServer, project_id: str, members: dict[str, ProjectRole]) -> None:
    identity = identity_of(srv)
    await identity.create_project(project_id, actor=TEST_ACTOR, project_id=project_id)
    for user, role in members.items():
        await identity.set_member(project_id, user, role, actor=TEST_ACTOR)
