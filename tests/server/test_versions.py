import asyncio
import time
from typing import Any

import httpx
from pycrdt import Doc, Map, Text

from crdt.schema import DocKey, DocKind
from tests.server.conftest import set_node
from tests.support.live_server import LiveServer, live_server
from tests.support.yclient import YClient, yclient

ROOM = "projects/p1/flows/f1"
KEY = DocKey("p1", DocKind.FLOW, "f1")
API = "/api/v1/projects/p1/flows/f1/versions"


def _http(srv: LiveServer, user: str = "ann") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=srv.base_url, headers={"Authorization": f"Bearer {user}"}, timeout=10
    )


async def test_versions_save_list_fetch_as_json() -> None:
    async with live_server() as srv, yclient(srv.ws_url(ROOM, token="ann", ext="ack")) as a:
        set_node(a.doc, "n1", type="hub", x=1.0, y=2.0, data=Map({"hubId": "h1"}))
        await a.flush_acked()
        async with _http(srv) as http:
            created = await http.post(API, json={"name": "Before the rewrite"})
            assert created.status_code == 201
            version = created.json()["version"]
            assert version["name"] == "Before the rewrite"
            assert version["author_id"] == "ann"
            assert version["kind"] == "named"
            listed = (await http.get(API)).json()
            assert [v["id"] for v in listed["items"]] == [version["id"]]
            assert listed["next_cursor"] is None
            fetched = (await http.get(f"{API}/{version['id']}")).json()
            assert "n1" in fetched["document"]["nodes"]
            missing = await http.get(f"{API}/999999")
            assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
            assert (await http.post(API, content=b"not json")).status_code == 400
            bad_name = await http.post(API, json={"name": ""})
            assert bad_name.status_code == 422
            assert bad_name.json()["error"]["details"] == [
                {"field": "name", "message": "must be at least 1 characters"}
            ]


async def test_versions_refuse_unknown_documents_and_bad_paths() -> None:
    async with live_server() as srv, _http(srv) as http:
        missing = await http.post("/api/v1/projects/p1/flows/none/versions", json={})
        assert missing.status_code == 404
        assert (await http.get("/api/v1/projects/p1/sheets/x/versions")).status_code == 404


async def test_versions_restore_while_two_clients_keep_editing() -> None:
    async with (
        live_server() as srv,
        yclient(srv.ws_url(ROOM, token="ann", ext="ack")) as a,
        yclient(srv.ws_url(ROOM, token="bob", ext="ack")) as b,
        _http(srv) as http,
    ):
        a.doc["meta"] = Map({"title": Text("Draft")})
        await a.flush_acked()
        for i in range(5):
            set_node(a.doc, f"v{i}", type="hub")
            await a.flush_acked()
        version = (await http.post(API, json={"name": "v1"})).json()["version"]
        title: Text = a.doc.get("meta", type=Map)["title"]
        title.insert(len(title), " middle")
        await a.flush_acked()

        restore_window: list[float] = []
        added: dict[str, tuple[float, float]] = {}  # node -> (sent, acknowledged)
        stop = asyncio.Event()

        async def keep_editing(client: YClient, name: str) -> None:
            i = 0
            while not stop.is_set():
                node = f"{name}{i}"
                sent = time.monotonic()
                set_node(client.doc, node, type="dialogue")
                await client.flush_acked()
                added[node] = (sent, time.monotonic())
                i += 1
                await asyncio.sleep(0.01)

        editors = [
            asyncio.get_running_loop().create_task(keep_editing(a, "a")),
            asyncio.get_running_loop().create_task(keep_editing(b, "b")),
        ]
        await asyncio.sleep(0.3)
        restore_window.append(time.monotonic())
        restored = await http.post(f"{API}/{version['id']}/restore")
        restore_window.append(time.monotonic())
        assert restored.status_code == 200
        assert restored.json()["version"]["kind"] == "restore"
        await asyncio.sleep(0.3)
        title = a.doc.get("meta", type=Map)["title"]
        title.insert(len(title), " end")
        await a.flush_acked()
        stop.set()
        await asyncio.gather(*editors)

        room = srv.services.rooms.get(KEY)
        assert room is not None and room.protocol is not None
        server_doc = room.protocol.doc
        await a.wait_for(lambda: a.doc.get_state() == server_doc.get_state())
        await b.wait_for(lambda: b.doc.get_state() == server_doc.get_state())
        nodes = set(server_doc.get("nodes", type=Map).keys())
        start, end = restore_window
        before = {n for n, (_, acked) in added.items() if acked < start}
        after = {n for n, (sent, _) in added.items() if sent > end}
        assert before and after
        assert {f"v{i}" for i in range(5)} <= nodes  # what the version held
        assert not nodes & before  # edits made after the version are gone...
        assert after <= nodes  # ...and edits made after the restore are kept
        assert str(server_doc.get("meta", type=Map)["title"]) == "Draft end"  # nothing doubled
        for client in (a, b):
            assert set(client.doc.get("nodes", type=Map).keys()) == nodes
            assert str(client.doc.get("meta", type=Map)["title"]) == "Draft end"


async def test_versions_auto_version_after_quiet_period() -> None:
    env = {
        "STORYARN_AUTO_VERSION_QUIET_SECONDS": "0.3",
        "STORYARN_AUTO_VERSION_INTERVAL_SECONDS": "0.1",
    }
    async with live_server(env) as srv, yclient(srv.ws_url(ROOM, token="ann", ext="ack")) as a:
        set_node(a.doc, "n1", type="hub")
        await a.flush_acked()
        store = srv.services.store

        async def versions() -> list[Any]:
            return await store.list_versions(KEY)

        async with asyncio.timeout(5):
            while not await versions():
                await asyncio.sleep(0.05)
        (auto,) = await versions()
        assert auto.kind.value == "auto"
        stored = await store.get_version(KEY, auto.id)
        assert stored is not None
        doc: Doc[Any] = Doc()
        doc.apply_update(stored.state)
        assert "n1" in doc.get("nodes", type=Map)
