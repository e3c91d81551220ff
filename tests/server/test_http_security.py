"""Headers on every response, proxies trusted only when configured, HTTPS redirect, CORS, Origin."""

import asyncio
from collections.abc import Mapping

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from persistence.identity import ProjectRole
from tests.support.live_server import LiveServer, live_server
from tests.support.tokens import make_token, seed_project

TEST = {"STORYARN_ENV": "test"}
EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def _assert_hardened(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.url, name)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "camera=()" in response.headers["permissions-policy"]


async def test_http_security_headers_on_every_route() -> None:
    async with live_server(TEST) as srv:
        await seed_project(srv, "p1", {"ow": ProjectRole.OWNER})
        owner = {"Authorization": f"Bearer {make_token('ow')}"}
        async with httpx.AsyncClient(base_url=srv.base_url) as http:
            responses = [
                await http.get("/"),
                await http.get("/health/live"),
                await http.get("/health"),
                await http.get("/no/such/route"),
                await http.delete("/health/live"),  # 405
                await http.get("/api/v1/projects/p1/flows/f1/versions"),  # 401
                await http.get("/api/v1/projects/p1/flows/f1/versions", headers=owner),
                await http.get("/api/v1/projects/p1/members", headers=owner),
                await http.get("/api/v1/projects/p1/audit", headers=owner),
                await http.get("/api/v1/ops/rooms", headers=owner),  # 403
            ]
        statuses = [r.status_code for r in responses[1:]]  # `/`: the web app, if built
        assert statuses == [200, 200, 404, 405, 401, 200, 200, 200, 403]
        for response in responses:
            _assert_hardened(response)
            assert "strict-transport-security" not in response.headers  # plain HTTP


async def _get(srv: LiveServer, path: str, headers: Mapping[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=srv.base_url) as http:
        return await http.get(path, headers=dict(headers))


async def test_http_security_hsts_and_scheme_only_from_trusted_proxies() -> None:
    https = {"X-Forwarded-Proto": "https"}
    async with live_server(TEST) as srv:
        response = await _get(srv, "/health/live", https)
        assert "strict-transport-security" not in response.headers  # nobody is trusted
    async with live_server({**TEST, "STORYARN_TRUSTED_PROXIES": "127.0.0.1"}) as srv:
        response = await _get(srv, "/health/live", https)
        assert response.headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize(
    ("trusted", "forwarded", "seen"),
    [
        ("", "203.0.113.9", "127.0.0.1"),  # not trusted: the header is a client's lie
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.0/8,10.0.0.0/8", "198.51.100.1, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
        ("127.0.0.1,10.0.0.0/8", "10.0.0.7, 10.0.0.8", "10.0.0.7"),
    ],
)
async def test_http_security_client_address_from_trusted_proxies(
    trusted: str, forwarded: str, seen: str
) -> None:
    async with live_server({**TEST, "STORYARN_TRUSTED_PROXIES": trusted}) as srv:
        await seed_project(srv, "p1", {"ow": ProjectRole.OWNER})
        headers = {"Authorization": f"Bearer {make_token('ow')}", "X-Forwarded-For": forwarded}
        async with httpx.AsyncClient(base_url=srv.base_url, headers=headers) as http:
            put = await http.put("/api/v1/projects/p1/members/ann", json={"role": "viewer"})
            assert put.status_code == 200
            entries = (await http.get("/api/v1/projects/p1/audit")).json()["items"]
        assert entries[0]["action"] == "member.set"
        assert entries[0]["client_address"] == seen


async def test_http_security_https_redirect_behind_a_proxy() -> None:
    env = {**TEST, "STORYARN_HTTPS_REDIRECT": "true", "STORYARN_TRUSTED_PROXIES": "127.0.0.1"}
    async with live_server(env) as srv:
        plain = await _get(srv, "/api/v1/projects/p1/tree/versions?x=1", {})
        assert plain.status_code == 308
        location = f"https://127.0.0.1:{srv.port}/api/v1/projects/p1/tree/versions?x=1"
        assert plain.headers["location"] == location
        _assert_hardened(plain)
        assert (await _get(srv, "/health/live", {})).status_code == 200  # probes stay on HTTP
        secure = await _get(
            srv, "/api/v1/projects/p1/tree/versions", {"X-Forwarded-Proto": "https"}
        )
        assert secure.status_code == 401  # through to the route
        async with connect(srv.ws_url("projects/p1/tree", token="x")) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            assert ws.close_code == 4403


async def test_http_security_cors_only_for_listed_origins_and_only_on_api() -> None:
    env = {**TEST, "STORYARN_CORS_ORIGINS": "https://app.example"}
    preflight = {"Access-Control-Request-Method": "PUT"}
    async with live_server(env) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        allowed = await http.options(
            "/api/v1/projects/p1/members/ann",
            headers={**preflight, "Origin": "https://app.example"},
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "PUT" in allowed.headers["access-control-allow-methods"]
        refused = await http.options(
            "/api/v1/projects/p1/members/ann",
            headers={**preflight, "Origin": "https://evil.example"},
        )
        assert "access-control-allow-origin" not in refused.headers
        health = await http.get("/health/live", headers={"Origin": "https://app.example"})
        assert "access-control-allow-origin" not in health.headers


async def _close_code(url: str, origin: str | None) -> int | None:
    async with connect(url, origin=origin) as ws:  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(ws.recv(), 2)
        except ConnectionClosed:
            return ws.close_code
        return None  # served: the first frame (sync step 1) arrived


@pytest.mark.parametrize(
    ("env", "origin", "refused"),
    [
        (TEST, "https://evil.example", True),
        (TEST, "null", True),
        (TEST, None, False),  # not a browser
        (TEST, "http://127.0.0.1:{port}", False),  # the server's own page
        ({**TEST, "STORYARN_ALLOWED_ORIGINS": "https://app.example"}, "https://app.example", False),
        ({**TEST, "STORYARN_ALLOWED_ORIGINS": "https://app.example"}, "https://app.evil", True),
        ({}, "http://localhost:5173", False),  # development: a local dev server
        ({}, "https://evil.example", True),  # development still refuses other sites
    ],
)
async def test_http_security_websocket_origin_check(
    env: dict[str, str], origin: str | None, refused: bool
) -> None:
    async with live_server(env) as srv:
        if env.get("STORYARN_ENV") == "test":
            await seed_project(srv, "p1", {"ed": ProjectRole.EDITOR})
        token = make_token("ed")
        url = srv.ws_url("projects/p1/tree", token=token)
        code = await _close_code(url, None if origin is None else origin.format(port=srv.port))
        assert code == (4403 if refused else None)
