"""The security settings turned into objects: token keys, origins, proxy networks.

`security_problem` runs inside `load_settings`, so a malformed key set, origin or proxy address
stops the start with a message instead of surfacing at the first connection.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from server.tokens import TokenIssuer, TokenVerifier, VerificationKey, parse_jwks

if TYPE_CHECKING:
    from server.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_POSITIVE = (
    "jwt_leeway_seconds",
    "token_ttl_seconds",
    "hsts_seconds",
    "connect_rate_per_address",
    "connect_burst_per_address",
    "connect_rate_per_user",
    "connect_burst_per_user",
    "api_rate_per_address",
    "api_burst_per_address",
    "api_rate_per_user",
    "api_burst_per_user",
    "max_connections_per_user",
    "access_poll_seconds",
)


def split_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def normalise_origin(origin: str) -> str | None:
    """`scheme://host[:port]` in lower case, or None if it is not an http(s) origin."""
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def origins(raw: str) -> frozenset[str]:
    return frozenset(o for o in (normalise_origin(p) for p in split_list(raw)) if o)


def proxy_networks(raw: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part, strict=False) for part in split_list(raw))


def token_keys(settings: Settings) -> list[VerificationKey]:
    secret = settings.secret_key.encode()
    keys = [
        VerificationKey(None, "HS256", secret),
        VerificationKey(settings.jwt_kid, "HS256", secret),
    ]
    return keys + (parse_jwks(settings.jwt_jwks) if settings.jwt_jwks else [])


def token_verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier(
        token_keys(settings),
        leeway_seconds=settings.jwt_leeway_seconds,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def token_issuer(settings: Settings) -> TokenIssuer:
    return TokenIssuer(
        settings.secret_key,
        kid=settings.jwt_kid,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def security_problem(settings: Settings) -> str | None:
    """What is wrong with the security settings, or None."""
    for name in _POSITIVE:
        if getattr(settings, name) < 0:
            return f"STORYARN_{name.upper()} must not be negative"
    if settings.token_ttl_seconds == 0:
        return "STORYARN_TOKEN_TTL_SECONDS must be positive"
    if len(settings.secret_key.encode()) < 32:
        return "STORYARN_SECRET_KEY must be at least 32 characters: it signs HS256 tokens"
    try:
        keys = parse_jwks(settings.jwt_jwks) if settings.jwt_jwks else []
    except ValueError as exc:
        return str(exc)
    if any(key.kid == settings.jwt_kid for key in keys):
        return f"STORYARN_JWT_JWKS reuses the kid {settings.jwt_kid!r} of STORYARN_SECRET_KEY"
    for name in ("allowed_origins", "cors_origins"):
        for part in split_list(getattr(settings, name)):
            if normalise_origin(part) is None:
                return f"STORYARN_{name.upper()}: {part!r} is not an origin like https://host"
    try:
        proxy_networks(settings.trusted_proxies)
    except ValueError as exc:
        return f"STORYARN_TRUSTED_PROXIES: {exc}"
    return None
