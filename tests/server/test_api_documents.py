"""REST edits of live documents: connected editors see them at once, and they are durable first.

Runs on SQLite and on Postgres. A REST answer comes after the commit, so the store already
holds the edit when the response arrives; the connected pycrdt client receives it as an
ordinary update.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Map

from crdt.schema import DocKey, DocKind
from crdt.views import add_block, read_flow, read_tree
from persistence.identity import ProjectRole
from tests.server.conftest import CountingStore
from tests.support.live_server import LiveServer, live_server
from tests.support.tokens import make_token, seed_project
from tests.support.yclient import yclient

MEMBERS = {"ow": ProjectRole.OWNER, "ed": ProjectRole.EDITOR, "vi": ProjectRole.VIEWER}


@pytest.fixture(params=["sqlite", "postgres"])
def database_env(request: pytest.FixtureRequest) -> dict[str, str]:
    env = {"STORYARN_ENV": "test"}
    if request.param == "postgres":  # sync: the session fixture runs its own event loop
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return env


@pytest.fixture
async def server(database_env: dict[str, str]) -> AsyncIterator[tuple[LiveServer, str]]:
    env = database_env
    project = f"p{uuid.uuid4().hex[:10]}"  # the Postgres database is shared by the run
    async with live_server(env) as srv:
        await seed_project(srv, project, MEMBERS)
        yield srv, project


def _as(srv: LiveServer, user: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    return httpx.AsyncClient(base_url=srv.base_url, headers=headers, timeout=10)


async def _stored(srv: LiveServer, key: DocKey) -> Doc[Any]:
    """The document as the store has it: what survives a crash right now."""
    stored = await srv.services.store.load(key)
    assert stored is not None
    doc: Doc[Any] = Doc()
    for update in stored.updates:
        doc.apply_update(update)
    return doc


async def test_api_documents_flow_edits_reach_a_client_and_are_durable(
    server: tuple[LiveServer, str],
) -> None:
    srv, project = server
    flow = f"/api/v1/projects/{project}/flows"
    key = DocKey(project, DocKind.FLOW, "f1")
    async with _as(srv, "ed") as http:
        created = await http.post(flow, json={"id": "f1", "name": "Intro"})
        assert created.status_code == 201
        assert created.json()["name"] == "Intro"
        room = f"projects/{project}/flows/f1"
        async with yclient(srv.ws_url(room, token=make_token("vi"))) as viewer:
            assert read_flow(viewer.doc).entry is not None  # a new flow has its entry node
            node = await http.post(
                f"{flow}/f1/nodes",
                json={
                    "id": "n1",
                    "type": "dialogue",
                    "x": 10,
                    "y": 20,
                    "data": {"text": "<p>Hi</p>"},
                },
            )
            assert node.status_code == 201
            assert node.json()["data"]["localizationId"] == "dialogue_n1"
            # Durable before the answer: the store holds it already.
            assert "n1" in read_flow(await _stored(srv, key)).nodes
            await viewer.wait_for(lambda: "n1" in read_flow(viewer.doc).nodes)
            assert read_flow(viewer.doc).nodes["n1"].data["text"] == "<p>Hi</p>"

            conn = await http.post(
                f"{flow}/f1/connections",
                json={"id": "c1", "source_node_id": "entry", "source_pin": "output",
                      "target_node_id": "n1", "label": "go"},
            )  # fmt: skip
            assert conn.status_code == 201
            await viewer.wait_for(lambda: "c1" in read_flow(viewer.doc).connections)

            moved = await http.patch(
                f"{flow}/f1/nodes/n1", json={"x": 5, "data": {"menuText": "m"}}
            )
            assert (moved.json()["x"], moved.json()["y"]) == (5, 20)
            labelled = await http.patch(f"{flow}/f1/connections/c1", json={"label": None})
            assert labelled.json()["label"] is None
            await viewer.wait_for(lambda: read_flow(viewer.doc).nodes["n1"].x == 5)

            cached = (await http.get(f"{flow}/f1/document")).json()  # read twice: cached
            assert cached == (await http.get(f"{flow}/f1/document")).json()
            assert cached["document"]["nodes"]["n1"]["x"] == 5
            assert (await http.delete(f"{flow}/f1/nodes/n1")).status_code == 204
            await viewer.wait_for(lambda: not read_flow(viewer.doc).connections)
        stored = read_flow(await _stored(srv, key))
        assert set(stored.nodes) == {"entry"} and not stored.connections

        document = (await http.get(f"{flow}/f1/document")).json()
        assert set(document["document"]["nodes"]) == {"entry"}
        assert document["problems"] == []


async def test_api_documents_tree_edits(server: tuple[LiveServer, str]) -> None:
    srv, project = server
    pages = f"/api/v1/projects/{project}/pages"
    tree_key = DocKey(project, DocKind.TREE)
    async with (
        _as(srv, "ed") as http,
        yclient(srv.ws_url(f"projects/{project}/tree", token=make_token("ed"))) as client,
    ):
        root = (await http.post(pages, json={"id": "a", "name": "Cast"})).json()
        child = await http.post(pages, json={"id": "b", "name": "Jaime", "parent_id": "a"})
        assert child.json()["parent_id"] == "a"
        first = await http.post(
            pages, json={"id": "c", "name": "Ann", "parent_id": "a", "index": 0}
        )
        assert first.json()["position"] < child.json()["position"]
        assert root["deleted_at"] is None
        await client.wait_for(
            lambda: set(read_tree(client.doc).items[DocKind.PAGE]) == {"a", "b", "c"}
        )

        assert (await http.post(pages, json={"id": "a", "name": "again"})).status_code == 409
        orphan = await http.post(pages, json={"name": "x", "parent_id": "nope"})
        assert orphan.status_code == 422
        assert orphan.json()["error"]["details"][0]["field"] == "parent_id"

        cycle = await http.post(f"{pages}/a/move", json={"parent_id": "b"})
        assert (cycle.status_code, cycle.json()["error"]["code"]) == (409, "cycle")
        moved = await http.post(f"{pages}/b/move", json={"parent_id": None})
        assert moved.json()["parent_id"] is None

        renamed = await http.patch(f"{pages}/b", json={"name": "Jaime L.", "shortcut": "mc.jaime"})
        assert (renamed.json()["name"], renamed.json()["shortcut"]) == ("Jaime L.", "mc.jaime")
        taken = await http.patch(f"{pages}/c", json={"shortcut": "mc.jaime"})
        assert (taken.status_code, taken.json()["error"]["code"]) == (409, "taken")
        bad = await http.patch(f"{pages}/c", json={"shortcut": "Not Valid"})
        assert bad.status_code == 422

        assert (await http.delete(f"{pages}/c")).status_code == 204
        assert (await http.delete(f"{pages}/zz")).status_code == 404
        await client.wait_for(lambda: read_tree(client.doc).items[DocKind.PAGE]["c"].deleted_at)
        stored = read_tree(await _stored(srv, tree_key)).items[DocKind.PAGE]
        assert stored["c"].deleted_at is not None
        assert stored["b"].name == "Jaime L."


async def test_api_documents_page_with_blocks(server: tuple[LiveServer, str]) -> None:
    srv, project = server
    async with _as(srv, "vi") as viewer, _as(srv, "ed") as editor:
        assert (
            await editor.post(
                f"/api/v1/projects/{project}/pages", json={"id": "pg", "name": "Jaime"}
            )
        ).status_code == 201
        room = f"projects/{project}/pages/pg"
        async with yclient(srv.ws_url(room, token=make_token("ed"), ext="ack")) as client:
            add_block(client.doc, "b2", "number", "Health")
            add_block(client.doc, "b1", "text", "Nickname", index=0)
            await client.flush_acked()
        page = (await viewer.get(f"/api/v1/projects/{project}/pages/pg")).json()
        assert [b["id"] for b in page["blocks"]] == ["b1", "b2"]
        assert page["blocks"][1] == {
            "id": "b2",
            "type": "number",
            "label": "Health",
            "config": page["blocks"][1]["config"],
            "value": {"content": None},
        }
        missing = await viewer.get(f"/api/v1/projects/{project}/pages/none")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


async def test_api_documents_refusals_name_the_field(server: tuple[LiveServer, str]) -> None:
    srv, project = server
    flow = f"/api/v1/projects/{project}/flows/f1"
    async with _as(srv, "ed") as http:
        await http.post(f"/api/v1/projects/{project}/flows", json={"id": "f1", "name": "F"})

        def fields(response: httpx.Response) -> list[str]:
            return [d["field"] for d in response.json()["error"].get("details", [])]

        cases: list[tuple[str, dict[str, Any], int, Callable[[httpx.Response], bool]]] = [
            ("nodes", {"type": "teleport"}, 422, lambda r: fields(r) == ["type"]),
            ("nodes", {"type": "hub", "x": "far"}, 422, lambda r: fields(r) == ["x"]),
            ("nodes", {"type": "hub", "colour": 1}, 422, lambda r: fields(r) == ["colour"]),
            (
                "nodes",
                {"type": "hub", "data": {"nope": 1}},
                422,
                lambda r: fields(r) == ["data.nope"],
            ),
            (
                "nodes",
                {"type": "entry"},
                409,
                lambda r: r.json()["error"]["code"] == "entry_exists",
            ),
            (
                "nodes",
                {"type": "hub", "id": "entry"},
                409,
                lambda r: r.json()["error"]["code"] == "exists",
            ),
            (
                "connections",
                {"source_node_id": "ghost", "source_pin": "output", "target_node_id": "entry"},
                422,
                lambda r: fields(r) == ["source_node_id", "target_pin"],
            ),
            (
                "connections",
                {"source_node_id": "entry", "source_pin": "true", "target_node_id": "h"},
                422,
                lambda r: fields(r) == ["source_pin"],
            ),
        ]
        assert (
            await http.post(f"{flow}/nodes", json={"type": "hub", "id": "h"})
        ).status_code == 201
        for what, body, status, check in cases:
            response = await http.post(f"{flow}/{what}", json=body)
            assert response.status_code == status, (body, response.text)
            assert check(response), (body, response.text)
        ok = {"source_node_id": "entry", "source_pin": "output", "target_node_id": "h"}
        assert (await http.post(f"{flow}/connections", json=ok)).status_code == 201
        again = await http.post(f"{flow}/connections", json=ok)
        assert (again.status_code, again.json()["error"]["code"]) == (409, "exists")
        refused = await http.patch(
            f"{flow}/nodes/h", json={"data": {"label": "changed?", "hubId": "other"}}
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "refused_edit")
        document = (await http.get(f"{flow}/document")).json()["document"]
        assert document["nodes"]["h"]["data"]["label"] == ""  # nothing of it was written
        entry = await http.delete(f"{flow}/nodes/entry")
        assert (entry.status_code, entry.json()["error"]["code"]) == (409, "entry_node")
        assert (await http.patch(f"{flow}/nodes/ghost", json={"x": 1})).status_code == 404
        assert (await http.post(f"{flow}/nodes", content=b"{")).status_code == 400
        missing_doc = await http.post(
            f"/api/v1/projects/{project}/flows/none/nodes", json={"type": "hub"}
        )
        assert missing_doc.status_code == 404


async def test_api_documents_edit_in_a_busy_room_answers_once_its_change_commits(
    server: tuple[LiveServer, str],
) -> None:
    srv, project = server
    flow = f"/api/v1/projects/{project}/flows/f1"
    async with _as(srv, "ed") as http:
        await http.post(f"/api/v1/projects/{project}/flows", json={"id": "f1", "name": "F"})
        room = f"projects/{project}/flows/f1"
        async with yclient(srv.ws_url(room, token=make_token("ed"))) as busy:
            stop = asyncio.Event()

            async def keep_typing() -> None:
                i = 0
                while not stop.is_set():
                    busy.doc.get("meta", type=Map)["draft"] = i  # one update per step
                    await busy.flush()
                    i += 1
                    await asyncio.sleep(0.002)

            typing = asyncio.get_running_loop().create_task(keep_typing())
            try:
                for i in range(5):
                    started = time.monotonic()
                    made = await http.post(f"{flow}/nodes", json={"id": f"h{i}", "type": "hub"})
                    assert made.status_code == 201
                    assert time.monotonic() - started < 2
                    stored = read_flow(await _stored(srv, DocKey(project, DocKind.FLOW, "f1")))
                    assert f"h{i}" in stored.nodes
            finally:
                stop.set()
                await typing


async def test_api_documents_edit_waits_for_the_database_then_answers_503() -> None:
    store = CountingStore()
    env = {"STORYARN_COMMIT_RETRY_MAX_SECONDS": "0.2"}
    async with live_server(env, store=store) as srv, _dev(srv) as http:
        flows = "/api/v1/projects/p1/flows"
        assert (await http.post(flows, json={"id": "f1", "name": "F"})).status_code == 201
        store.fail_appends = True
        refused = await http.post(f"{flows}/f1/nodes", json={"id": "late", "type": "hub"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "unavailable")
        assert refused.headers["retry-after"] == "1"
        store.fail_appends = False
        # Not lost: applied in the room, committed once the store answers again.
        async with asyncio.timeout(5):
            while (
                "late" not in (await http.get(f"{flows}/f1/document")).json()["document"]["nodes"]
            ):
                await asyncio.sleep(0.05)


def _dev(srv: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": "Bearer ann"})
