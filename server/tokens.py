"""JWT verification and issuing (DESIGN.md §5), on pyjwt.

Keys: `STORYARN_SECRET_KEY` is the HS256 key, named `STORYARN_JWT_KID` in the tokens we issue
and used for tokens without a `kid`. `STORYARN_JWT_JWKS` adds keys by `kid`: HS256 secrets
(`oct`) kept during a rotation, and RS256/ES256 public keys of other issuers. Each key allows one
algorithm, and a token's `alg` must be that key's: `alg=none`, other algorithms, and an RSA
public key offered as an HMAC secret (algorithm confusion) are all refused before any signature
is checked. `exp`, `iat` and `sub` are required; `leeway` absorbs clock skew.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from persistence.identity import valid_user_id

ALGORITHMS = ("HS256", "RS256", "ES256")
MAX_TOKEN_BYTES = 8192  # far above any real token; refused before parsing anything


class TokenError(Exception):
    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str | None
    algorithm: str
    key: Any  # bytes for HS256, a pyjwt PyJWK for RS256/ES256


@dataclass(frozen=True, slots=True)
class TokenClaims:
    sub: str
    exp: float
    iat: float


def parse_jwks(text: str) -> list[VerificationKey]:
    """Keys from a JWKS document; raises ValueError naming what is wrong."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError("STORYARN_JWT_JWKS is not JSON") from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError('STORYARN_JWT_JWKS must be a JWKS: {"keys": [...]}')
    keys: list[VerificationKey] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            raise ValueError("every key of STORYARN_JWT_JWKS needs a string kid")
        if entry.get("kty") in ("RSA", "EC") and "d" in entry:
            raise ValueError(f"key {entry['kid']}: give the public key, not the private one")
        try:
            jwk = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise ValueError(f"key {entry['kid']}: {exc}") from exc
        if jwk.algorithm_name not in ALGORITHMS:
            raise ValueError(f"key {entry['kid']}: algorithm {jwk.algorithm_name} not allowed")
        if jwk.algorithm_name == "HS256":
            secret: bytes = jwk.key
            if len(secret) < 32:
                raise ValueError(f"key {entry['kid']}: an HS256 key needs at least 32 bytes")
            keys.append(VerificationKey(entry["kid"], "HS256", secret))
        else:
            keys.append(VerificationKey(entry["kid"], jwk.algorithm_name, jwk))
    return keys


def _codec() -> jwt.PyJWT:
    # Short HMAC keys are an error here, not a warning.
    return jwt.PyJWT(options={"enforce_minimum_key_length": True})


class TokenVerifier:
    def __init__(
        self,
        keys: Sequence[VerificationKey],
        *,
        leeway_seconds: float,
        issuer: str = "",
        audience: str = "",
    ) -> None:
        self._default = next((k for k in keys if k.kid is None), None)
        self._by_kid = {k.kid: k for k in keys if k.kid is not None}
        self.leeway_seconds = leeway_seconds
        self._issuer = issuer or None
        self._audience = audience or None
        self._jwt = _codec()

    def verify(self, token: str) -> TokenClaims:
        """The token's claims, or `TokenError` with a reason safe to show the client."""
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenError("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("malformed token") from exc
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise TokenError("token algorithm not allowed")
        key = self._default if kid is None else self._by_kid.get(kid)
        if key is None:
            raise TokenError("unknown token key")
        if key.algorithm != algorithm:
            raise TokenError("token algorithm does not match its key")
        required = ["exp", "iat", "sub"] + (["iss"] if self._issuer else [])
        try:
            claims = self._jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                leeway=self.leeway_seconds,
                issuer=self._issuer,
                audience=self._audience,
                options={"require": required + (["aud"] if self._audience else [])},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired", expired=True) from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError("invalid token") from exc
        sub = claims["sub"]
        if not isinstance(sub, str) or not valid_user_id(sub):
            raise TokenError("invalid token subject")
        return TokenClaims(sub=sub, exp=float(claims["exp"]), iat=float(claims["iat"]))


class TokenIssuer:
    """HS256 tokens signed with the secret key: `storyarn token issue` and development."""

    def __init__(self, secret: str, *, kid: str, issuer: str = "", audience: str = "") -> None:
        self._secret = secret.encode()
        self._kid = kid
        self._issuer = issuer
        self._audience = audience
        self._jwt = _codec()

    def issue(self, user_id: str, ttl_seconds: int, *, now: float | None = None) -> str:
        if not valid_user_id(user_id):
            raise ValueError(f"user id {user_id!r} is not 1-64 of A-Z a-z 0-9 _ . @ -")
        if ttl_seconds <= 0:
            raise ValueError("a token lives at least one second")
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {"sub": user_id, "iat": issued, "exp": issued + ttl_seconds}
        if self._issuer:
            claims["iss"] = self._issuer
        if self._audience:
            claims["aud"] = self._audience
        return self._jwt.encode(claims, self._secret, algorithm="HS256", headers={"kid": self._kid})
