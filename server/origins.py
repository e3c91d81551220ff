"""Which web pages may talk to us: the websocket Origin check and CORS for the REST API.

Cross-site websocket hijacking: a browser lets any page open a websocket to any host and sends
along whatever the page puts in the URL, so a page on another site must not be served. Browsers
always send `Origin` on websockets; it is accepted when it is the server's own (same host as the
`Host` header: the web app at `/`), listed in STORYARN_ALLOWED_ORIGINS, or, in development, a
page on localhost (a dev server on another port). A request without `Origin` is not a browser's
and is accepted: tokens, not origins, authenticate it. A refused socket is accepted and closed
with 4403 so that stock clients stop retrying instead of looping on a failed handshake.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from server.close_codes import CloseCode
from server.security_settings import normalise_origin

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


async def refuse_websocket(receive: Receive, send: Send, reason: str) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": int(CloseCode.FORBIDDEN), "reason": reason})


class OriginCheck:
    def __init__(self, app: ASGIApp, allowed: frozenset[str], *, development: bool) -> None:
        self.app = app
        self._allowed = allowed
        self._development = development

    def allows(self, origin: str, host: str) -> bool:
        normalised = normalise_origin(origin)
        if normalised is None:
            return False  # "null" (sandboxed frames, files) and anything not http(s)
        if normalised in self._allowed:
            return True
        parts = urlsplit(normalised)
        if host and parts.netloc == host.lower():
            return True
        return self._development and parts.hostname in _LOCAL_HOSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self.allows(origin, headers.get("host", "")):
                await refuse_websocket(receive, send, "origin not allowed")
                return
        await self.app(scope, receive, send)


class ApiCors:
    """CORS on /api only, for the origins listed; without any, browsers keep same-origin."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self._cors: ASGIApp | None = None
        if allowed:
            self._cors = CORSMiddleware(
                app,
                allow_origins=sorted(allowed),
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                allow_credentials=False,  # bearer tokens, never cookies
                max_age=600,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api = scope["type"] == "http" and scope.get("path", "").startswith("/api/")
        if self._cors is not None and api:
            await self._cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
