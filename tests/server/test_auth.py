import asyncio

from pycrdt import Map

from crdt.schema import DocKey, DocKind
from server.auth import Principal, Role, StaticAuthenticator
from tests.server.conftest import set_node
from tests.support.live_server import live_server
from tests.support.yclient import yclient

ROOM = "projects/p1/flows/f1"
KEY = DocKey("p1", DocKind.FLOW, "f1")
AUTH = StaticAuthenticator(
    {
        "t-ed": Principal("ed", Role.EDITOR),
        "t-vi": Principal("vi", Role.VIEWER),
    }
)


async def test_auth_viewer_receives_but_its_updates_are_dropped() -> None:
    async with (
        live_server({"STORYARN_ENV": "test"}, authenticator=AUTH) as srv,
        yclient(srv.ws_url(ROOM, token="t-ed")) as editor,
        yclient(srv.ws_url(ROOM, token="t-vi")) as viewer,
    ):
        set_node(editor.doc, "n1", type="hub")
        await editor.flush()
        await viewer.wait_for(lambda: "n1" in viewer.doc.get("nodes", type=Map))
        set_node(viewer.doc, "v1", type="hub")
        await viewer.flush()
        room = srv.services.rooms.get(KEY)
        assert room is not None
        await viewer.wait_for(lambda: room.dropped_readonly_updates == 1)
        await asyncio.sleep(0.05)
        assert "v1" not in editor.doc.get("nodes", type=Map)
        assert room.committed_seq == 1
        assert viewer.close_code is None


async def test_auth_viewer_opening_missing_document_gets_4404() -> None:
    async with (
        live_server({"STORYARN_ENV": "test"}, authenticator=AUTH) as srv,
        yclient(srv.ws_url(ROOM, token="t-vi"), sync=False) as viewer,
    ):
        assert await viewer.wait_closed() == 4404


async def test_auth_unknown_token_gets_4401() -> None:
    async with (
        live_server({"STORYARN_ENV": "test"}, authenticator=AUTH) as srv,
        yclient(srv.ws_url(ROOM, token="nope"), sync=False) as client,
    ):
        assert await client.wait_closed() == 4401


async def test_auth_bearer_header_is_accepted() -> None:
    from websockets.asyncio.client import connect

    async with live_server({"STORYARN_ENV": "test"}, authenticator=AUTH) as srv:
        headers = {"Authorization": "Bearer t-ed"}
        async with connect(srv.ws_url(ROOM), additional_headers=headers) as ws:
            frame = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(frame, bytes) and frame[:2] == b"\x00\x00"


async def test_auth_production_without_authenticator_refuses_everyone() -> None:
    async with (
        live_server({"STORYARN_ENV": "production"}) as srv,
        yclient(srv.ws_url(ROOM, token="alice"), sync=False) as client,
    ):
        assert await client.wait_closed() == 4401


async def test_auth_development_accepts_a_name_as_editor() -> None:
    async with live_server() as srv, yclient(srv.ws_url(ROOM, token="alice")) as client:
        set_node(client.doc, "n1", type="hub")
        await client.flush()
        room = srv.services.rooms.get(KEY)
        assert room is not None
        await client.wait_for(lambda: room.committed_seq == 1)


async def test_auth_invalid_document_path_gets_4404() -> None:
    async with live_server() as srv:
        for room in ("projects/p1/sheets/x", "projects/bad$id/flows/f1"):
            async with yclient(srv.ws_url(room, token="a"), sync=False) as client:
                assert await client.wait_closed() == 4404
