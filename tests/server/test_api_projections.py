"""REST reads from the relational projections, and the translation-status write, on a live server.

Runs on SQLite and Postgres. Projections follow commits after a short debounce, so reads poll
until the projection has caught up with what was written.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from crdt.views.locales import set_locale
from crdt.views.translations import read_translations
from persistence.identity import ProjectRole
from tests.support.live_server import LiveServer, live_server
from tests.support.tokens import make_token, seed_project
from tests.support.yclient import yclient


@pytest.fixture(params=["sqlite", "postgres"])
def database_env(request: pytest.FixtureRequest) -> dict[str, str]:
    env = {"STORYARN_ENV": "test", "STORYARN_PROJECTION_DEBOUNCE_SECONDS": "0.05"}
    if request.param == "postgres":  # sync: the session fixture runs its own event loop
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return env


@pytest.fixture
async def server(database_env: dict[str, str]) -> AsyncIterator[tuple[LiveServer, str]]:
    project = f"p{uuid.uuid4().hex[:10]}"
    async with live_server(database_env) as srv:
        await seed_project(srv, project, {"ed": ProjectRole.EDITOR, "vi": ProjectRole.VIEWER})
        yield srv, project


async def _until(
    http: httpx.AsyncClient, url: str, done: Callable[[httpx.Response], bool]
) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            response = await http.get(url)
            if done(response):
                body: dict[str, Any] = response.json()
                return body
            await asyncio.sleep(0.05)


async def test_api_projections_read_and_set_translation_status(
    server: tuple[LiveServer, str],
) -> None:
    srv, project = server
    base = f"/api/v1/projects/{project}"
    editor = {"Authorization": f"Bearer {make_token('ed')}"}
    viewer = {"Authorization": f"Bearer {make_token('vi')}"}
    async with (
        httpx.AsyncClient(base_url=srv.base_url, headers=editor, timeout=10) as ed,
        httpx.AsyncClient(base_url=srv.base_url, headers=viewer, timeout=10) as vi,
    ):
        assert (await ed.post(f"{base}/pages", json={"id": "pg", "name": "Jaime"})).is_success
        assert (await ed.post(f"{base}/flows", json={"id": "f1", "name": "Intro"})).is_success
        node = {
            "id": "n1",
            "type": "dialogue",
            "data": {"text": "<p>Hello</p>", "speakerSheetId": "pg"},
        }
        assert (await ed.post(f"{base}/flows/f1/nodes", json=node)).is_success
        link = {"source_node_id": "entry", "source_pin": "output", "target_node_id": "n1"}
        assert (await ed.post(f"{base}/flows/f1/connections", json={"id": "c1", **link})).is_success
        async with yclient(
            srv.ws_url(f"projects/{project}/tree", token=make_token("ed"), ext="ack")
        ) as tree:
            set_locale(tree.doc, "en", "English", is_source=True)
            set_locale(tree.doc, "fr", "French")
            await tree.flush_acked()

        flow = await _until(
            vi, f"{base}/flows/f1", lambda r: r.is_success and r.json()["connection_count"] == 1
        )
        assert (flow["entry_node_id"], flow["node_count"]) == ("entry", 2)
        nodes = (await vi.get(f"{base}/flows/f1/nodes?limit=1")).json()
        assert [n["id"] for n in nodes["items"]] == ["entry"]
        rest = (await vi.get(f"{base}/flows/f1/nodes?limit=1&cursor={nodes['next_cursor']}")).json()
        assert [n["id"] for n in rest["items"]] == ["n1"] and rest["next_cursor"] is None
        conns = (await vi.get(f"{base}/flows/f1/connections?source_node_id=entry")).json()
        assert [c["id"] for c in conns["items"]] == ["c1"]

        tree_page = await _until(vi, f"{base}/tree", lambda r: len(r.json()["items"]) == 2)
        assert {(e["kind"], e["id"]) for e in tree_page["items"]} == {
            ("flows", "f1"),
            ("pages", "pg"),
        }
        flows_only = (await vi.get(f"{base}/tree?kind=flows&parent_id=")).json()
        assert [e["id"] for e in flows_only["items"]] == ["f1"]

        locales = await _until(vi, f"{base}/locales", lambda r: len(r.json()["items"]) == 2)
        first = (await vi.get(f"{base}/locales?limit=1")).json()
        more = (await vi.get(f"{base}/locales?limit=1&cursor={first['next_cursor']}")).json()
        assert [lo["code"] for lo in first["items"] + more["items"]] == ["en", "fr"]
        assert [(lo["code"], lo["is_source"]) for lo in locales["items"]] == [
            ("en", True),
            ("fr", False),
        ]
        texts = await _until(vi, f"{base}/locales/fr/texts", lambda r: bool(r.json()["items"]))
        line = texts["items"][0]
        assert (line["source_id"], line["source_field"], line["status"]) == (
            "n1",
            "text",
            "pending",
        )
        assert line["source_text"] == "Hello" and line["speaker"] == "pg"

        backlinks = await _until(
            vi, f"{base}/pages/pg/backlinks", lambda r: bool(r.json()["items"])
        )
        assert backlinks["items"] == [
            {"doc_kind": "flows", "doc_id": "f1", "source_type": "flow_node", "source_id": "n1",
             "context": "speaker"}
        ]  # fmt: skip

        change = {"source_type": "flow_node", "source_id": "n1", "field": "text", "locale": "fr"}
        refused = await vi.patch(
            f"{base}/flows/f1/translations", json={**change, "status": "final"}
        )
        assert refused.status_code == 403
        async with yclient(srv.ws_url(f"projects/{project}/flows/f1", token=make_token("vi"))) as c:
            done = await ed.patch(
                f"{base}/flows/f1/translations",
                json={**change, "status": "final", "text": "Bonjour"},
            )
            assert done.json() == {
                **change,
                "status": "final",
                "text": "Bonjour",
                "translator_notes": None,
            }
            await c.wait_for(lambda: bool(read_translations(c.doc).translations))
        review = await ed.patch(
            f"{base}/flows/f1/translations", json={**change, "status": "review"}
        )
        assert review.json()["text"] == "Bonjour"  # kept when not given
        final = await _until(
            vi, f"{base}/locales/fr/texts?status=review", lambda r: bool(r.json()["items"])
        )
        assert final["items"][0]["translated_text"] == "Bonjour"

        for bad, where in (
            ({**change, "locale": "de", "status": "draft"}, "locale"),
            ({**change, "source_id": "ghost", "status": "draft"}, "source_id"),
            ({**change, "status": "done"}, "status"),
        ):
            response = await ed.patch(f"{base}/flows/f1/translations", json=bad)
            assert response.status_code == 422, response.text
            assert [d["field"] for d in response.json()["error"]["details"]] == [where]
        bad_cursor = await vi.get(f"{base}/tree?cursor=WyJ4Il0")
        assert bad_cursor.status_code == 422
        assert (await vi.get(f"{base}/flows/none")).status_code == 404
