"""Pure ASGI middleware around the whole app: proxy headers, security headers, HTTPS redirect.

`harden(app, settings)` wraps the Starlette stack from the outside, so every response gets the
headers, the router's 404/405 and the error middleware's 500 included:

    TrustedProxies -> SecurityHeaders -> HttpsRedirect -> OriginCheck -> ApiCors -> Starlette

- `TrustedProxies`: the client address and scheme come from X-Forwarded-For/-Proto only when
  the peer is a trusted proxy (STORYARN_TRUSTED_PROXIES); anyone else could forge them to dodge
  the per-address rate limits or to fake HTTPS. The client is the right-most untrusted hop.
- `SecurityHeaders`: CSP for the web app at `/`, no framing, no sniffing, no referrer across
  origins, no powerful browser features, and HSTS on HTTPS responses.
- `HttpsRedirect` (STORYARN_HTTPS_REDIRECT): plain HTTP gets 308 to https://, a plain websocket
  is closed with 4403; health checks stay reachable over HTTP for the platform's probes.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.origins import ApiCors, OriginCheck, refuse_websocket
from server.security_settings import Network, origins, proxy_networks

if TYPE_CHECKING:
    from server.settings import Settings

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; "
    # Editors (TipTap, the flow canvas) set inline styles; scripts stay 'self' only.
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; font-src 'self' data:; media-src 'self' blob: https:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_MAX_ADDRESS = 64


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("["):  # [v6]:port
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class TrustedProxies:
    def __init__(self, app: ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self._networks = networks

    def _trusted(self, host: str) -> bool:
        address = _ip(host)
        return address is not None and any(address in net for net in self._networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if (
            scope["type"] in ("http", "websocket")
            and self._networks
            and client
            and self._trusted(client[0])
        ):
            scope = dict(scope)
            headers = Headers(scope=scope)
            hops = [h.strip() for h in ",".join(headers.getlist("x-forwarded-for")).split(",")]
            hops = [h for h in hops if h]
            if hops:
                # Right to left: our proxies append; the first hop they did not add is the client.
                untrusted = [h for h in reversed(hops) if not self._trusted(h)]
                scope["client"] = ((untrusted[0] if untrusted else hops[0])[:_MAX_ADDRESS], 0)
            protos = ",".join(headers.getlist("x-forwarded-proto")).split(",")
            proto = protos[-1].strip().lower()
            if proto in ("http", "https"):
                secure = proto == "https"
                if scope["type"] == "websocket":
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = proto
        await self.app(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, csp: str, hsts_seconds: int) -> None:
        self.app = app
        self._headers = [
            ("Content-Security-Policy", csp),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
        ]
        self._hsts = f"max-age={hsts_seconds}" if hsts_seconds > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                headers = MutableHeaders(scope=message)
                for name, value in self._headers:
                    headers.setdefault(name, value)
                if https and self._hsts is not None:
                    headers.setdefault("Strict-Transport-Security", self._hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HttpsRedirect:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plain = scope["type"] == "http" and scope.get("scheme") == "http"
        plain_ws = scope["type"] == "websocket" and scope.get("scheme") == "ws"
        if (plain or plain_ws) and not scope.get("path", "").startswith("/health"):
            if plain_ws:
                await refuse_websocket(receive, send, "https required")
                return
            headers = Headers(scope=scope)
            host = headers.get("host", "")
            query = scope.get("query_string", b"").decode("latin-1")
            url = f"https://{host}{scope.get('path', '/')}" + (f"?{query}" if query else "")
            await RedirectResponse(url, status_code=308)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def harden(app: ASGIApp, settings: Settings) -> ASGIApp:
    """The middleware of this module and `server/origins.py` around `app`, outermost first."""
    app = ApiCors(app, origins(settings.cors_origins))
    app = OriginCheck(app, origins(settings.allowed_origins), development=settings.is_development)
    if settings.https_redirect:
        app = HttpsRedirect(app)
    app = SecurityHeaders(
        app,
        csp=settings.content_security_policy or DEFAULT_CSP,
        hsts_seconds=settings.hsts_seconds,
    )
    return TrustedProxies(app, proxy_networks(settings.trusted_proxies))
