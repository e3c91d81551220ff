"""The browser app at `/`: the built files of web/ (`npm run build --prefix web` -> web/dist).

Mounted after every other route, so /api, /sync, /health and /metrics keep priority. When the
app has not been built, `/` answers a short page that says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

DEFAULT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Storyarn</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>Storyarn</h1>
<p>The web app has not been built. Build it with:</p>
<pre>npm ci --prefix web &amp;&amp; npm run build --prefix web</pre>
<p>then reload this page. The server itself is running: see <a href="/health">/health</a>.</p>
</body></html>
"""


async def _not_built(request: Request) -> HTMLResponse:
    return HTMLResponse(_NOT_BUILT, status_code=503)


def web_routes(dist: Path = DEFAULT_DIST) -> list[BaseRoute]:
    """The static app if `dist` holds a build, else a page asking for one (checked at start)."""
    if (dist / "index.html").is_file():
        return [Mount("/", app=StaticFiles(directory=dist, html=True), name="web")]
    return [Route("/", _not_built, methods=["GET", "HEAD"])]
