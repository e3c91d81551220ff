"""REST conventions across every /api/v1 route, driven by the route registry itself.

Every project route refuses a caller without a token (401), a non-member (403) and an unknown
project (404); every write route refuses a viewer (403), every owner route an editor; errors
are one JSON shape; the OpenAPI document lists exactly the mounted routes.
"""

from __future__ import annotations

import re

import httpx
from starlette.routing import Route

from persistence.identity import ProjectRole
from server.api import FALLBACK_NAME
from server.api_registry import Api, Auth, Endpoint
from tests.support.live_server import LiveServer, live_server
from tests.support.tokens import make_token, seed_project

ENV = {
    "STORYARN_ENV": "test",
    # This test sends hundreds of requests in a burst; the limits have their own tests.
    "STORYARN_API_RATE_PER_ADDRESS": "0",
    "STORYARN_API_RATE_PER_USER": "0",
}
MEMBERS = {"ow": ProjectRole.OWNER, "ed": ProjectRole.EDITOR, "vi": ProjectRole.VIEWER}
VALUES = {
    "project_id": "p1",
    "kind": "flows",
    "doc_id": "f1",
    "flow_id": "f1",
    "page_id": "pg1",
    "node_id": "n1",
    "connection_id": "c1",
    "version_id": "1",
    "user_id": "ed",
    "locale": "fr",
    "asset_id": "a1",
}


def _api(srv: LiveServer) -> Api:
    api = srv.server.config.app.state.api  # type: ignore[attr-defined]
    assert isinstance(api, Api)
    return api


def _url(endpoint: Endpoint, **overrides: str) -> str:
    values = VALUES | overrides
    return re.sub(r"{([a-z_]+)(?::[a-z]+)?}", lambda m: values[m.group(1)], endpoint.path)


async def _call(
    http: httpx.AsyncClient, endpoint: Endpoint, user: str | None, url: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {make_token(user)}"} if user else {}
    body = {} if endpoint.method in ("POST", "PUT", "PATCH") else None
    return await http.request(endpoint.method, url, headers=headers, json=body)


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"}, response.text
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return response.status_code, body["error"]["code"]


async def test_api_conventions_every_route_refuses_who_it_must() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        await seed_project(srv, "p2", {"out": ProjectRole.OWNER})
        checked = 0
        for endpoint in _api(srv).endpoints:
            if endpoint.auth is Auth.NONE:
                continue
            url = _url(endpoint)
            where = f"{endpoint.method} {endpoint.path}"
            assert _error(await _call(http, endpoint, None, url)) == (401, "unauthenticated"), where
            if "project_id" in endpoint.params:
                assert _error(await _call(http, endpoint, "out", url)) == (
                    403,
                    "not_a_member",
                ), where
                unknown = _url(endpoint, project_id="nope")
                assert _error(await _call(http, endpoint, "ow", unknown)) == (
                    404,
                    "no_such_project",
                ), where
            if endpoint.auth is Auth.WRITE:
                assert _error(await _call(http, endpoint, "vi", url)) == (403, "read_only"), where
            if endpoint.auth is Auth.OWNER:
                for user in ("ed", "vi"):
                    assert _error(await _call(http, endpoint, user, url)) == (
                        403,
                        "owners_only",
                    ), where
            if endpoint.auth is Auth.OPERATOR:
                assert _error(await _call(http, endpoint, "ow", url)) == (
                    403,
                    "operators_only",
                ), where
            checked += 1
        assert checked >= 25


async def test_api_conventions_router_errors_are_json_under_api_only() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        owner = {"Authorization": f"Bearer {make_token('ow')}"}
        assert _error(await http.get("/api/v1/nothing-here")) == (404, "not_found")
        not_int = await http.get("/api/v1/projects/p1/tree/versions/abc", headers=owner)
        assert _error(not_int) == (404, "not_found")
        wrong_method = await http.delete("/api/v1/projects/p1/audit", headers=owner)
        assert _error(wrong_method) == (405, "method_not_allowed")
        assert wrong_method.headers["allow"] == "GET, HEAD"
        negative = await http.post("/api/v1/projects/p1/tree/versions/-1/restore", headers=owner)
        assert _error(negative) == (404, "not_found")
        bad_id = await http.get("/api/v1/projects/p1/flows/bad%20id/document", headers=owner)
        assert _error(bad_id) == (404, "not_found")
        huge = await http.post(
            "/api/v1/projects/p1/flows",
            headers=owner | {"content-type": "application/json"},
            content=b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        )
        assert _error(huge) == (413, "too_large")
        outside = await http.get("/not-an-api-path/x")
        assert outside.status_code in (200, 404)  # the web app's own fallback, not JSON errors
        assert not outside.headers["content-type"].startswith("application/json")


async def test_api_conventions_pagination_walks_every_version() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        editor = {"Authorization": f"Bearer {make_token('ed')}"}
        await http.post("/api/v1/projects/p1/pages", json={"id": "pg", "name": "P"}, headers=editor)
        base = "/api/v1/projects/p1/pages/pg/versions"
        made = [
            (await http.post(base, json={"name": f"v{i}"}, headers=editor)).json()["version"]["id"]
            for i in range(5)
        ]
        seen: list[int] = []
        cursor = ""
        while True:
            page = (await http.get(f"{base}?limit=2{cursor}", headers=editor)).json()
            assert len(page["items"]) <= 2
            seen += [v["id"] for v in page["items"]]
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert seen == sorted(made, reverse=True)
        for bad in ("limit=0", "limit=501", "limit=x", "cursor=%%%"):
            response = await http.get(f"{base}?{bad}", headers=editor)
            assert _error(response) == (422, "validation_failed"), bad


async def test_api_conventions_openapi_lists_exactly_the_mounted_routes() -> None:
    async with live_server(ENV) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        document = (await http.get("/api/v1/openapi.json")).json()
        assert document["openapi"].startswith("3.1")
        documented = {
            (method.upper(), path)
            for path, operations in document["paths"].items()
            for method in operations
        }
        app = srv.server.config.app  # type: ignore[attr-defined]
        mounted = {
            (method, re.sub(r"{([a-z_]+):[a-z]+}", r"{\1}", route.path))
            for route in app.routes
            if isinstance(route, Route)
            and route.path.startswith("/api/")
            and route.name != FALLBACK_NAME
            for method in (route.methods or ()) - {"HEAD"}
        }
        assert mounted == documented
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                assert operation["responses"], (method, path)
                if operation["x-storyarn-auth"] != "none":
                    assert "401" in operation["responses"], (method, path)
        assert "Error" in document["components"]["schemas"]
