"""The web app at `/`: built files when web/dist exists, a how-to-build page when not."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server.web import web_routes


async def _health(request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


def _client(dist: Path) -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/health", _health), *web_routes(dist)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_web_serves_the_built_app_and_keeps_other_routes(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<title>Storyarn</title>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    async with _client(tmp_path) as client:
        index = await client.get("/")
        asset = await client.get("/assets/app.js")
        health = await client.get("/health")
        missing = await client.get("/assets/nope.js")
    assert index.status_code == 200 and "<title>Storyarn</title>" in index.text
    assert asset.status_code == 200 and asset.text == "console.log(1)"
    assert health.text == "ok"
    assert missing.status_code == 404


async def test_web_without_a_build_says_how_to_build(tmp_path: Path) -> None:
    async with _client(tmp_path / "dist") as client:
        index = await client.get("/")
        health = await client.get("/health")
    assert index.status_code == 503
    assert "npm run build --prefix web" in index.text
    assert health.text == "ok"
