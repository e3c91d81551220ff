"""Real server, real JWTs, real memberships: who may connect, with which role, until when."""

import asyncio
import time

import httpx
from pycrdt import Map
from sqlalchemy import text

from crdt.schema import DocKey, DocKind
from persistence.engine import create_engine, sqlite_url
from persistence.identity import ProjectRole, WorkspaceRole
from tests.server.conftest import set_node
from tests.support.live_server import LiveServer, live_server
from tests.support.tokens import (
    TEST_ACTOR,
    alg_none_token,
    identity_of,
    make_token,
    seed_project,
)
from tests.support.yclient import yclient

TEST = {"STORYARN_ENV": "test"}
ROOM = "projects/p1/flows/f1"
KEY = DocKey("p1", DocKind.FLOW, "f1")
MEMBERS = {"ed": ProjectRole.EDITOR, "vi": ProjectRole.VIEWER, "ow": ProjectRole.OWNER}


async def _logged_users(srv: LiveServer) -> list[str | None]:
    engine = create_engine(sqlite_url(srv.services.settings.data_dir))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT user_id FROM document_updates"))
            return [row.user_id for row in rows]
    finally:
        await engine.dispose()


async def test_access_viewer_edits_reach_nobody_and_no_table() -> None:
    async with live_server(TEST) as srv:
        await seed_project(srv, "p1", MEMBERS)
        async with (
            yclient(srv.ws_url(ROOM, token=make_token("ed"), ext="ack")) as editor,
            yclient(srv.ws_url(ROOM, token=make_token("vi"))) as viewer,
        ):
            set_node(editor.doc, "n1", type="hub")
            await editor.flush_acked()
            await viewer.wait_for(lambda: "n1" in viewer.doc.get("nodes", type=Map))
            set_node(viewer.doc, "v1", type="hub")
            await viewer.flush()
            room = srv.services.rooms.get(KEY)
            assert room is not None
            await viewer.wait_for(lambda: room.dropped_readonly_updates == 1)
            set_node(editor.doc, "n2", type="hub")  # a later edit: anything before it is out
            await editor.flush_acked()
            await viewer.wait_for(lambda: "n2" in viewer.doc.get("nodes", type=Map))
            assert "v1" not in editor.doc.get("nodes", type=Map)
            assert viewer.close_code is None
        assert await _logged_users(srv) == ["ed", "ed"]


async def test_access_bad_tokens_get_4401() -> None:
    bad = {
        "expired": make_token("ed", ttl=-120),
        "malformed": "definitely.not.a-jwt",
        "wrongly signed": make_token("ed", secret="s" * 48),
        "alg none": alg_none_token("ed"),
        "missing": None,
    }
    async with live_server({**TEST, "STORYARN_JWT_LEEWAY_SECONDS": "5"}) as srv:
        await seed_project(srv, "p1", MEMBERS)
        for name, token in bad.items():
            url = srv.ws_url(ROOM) if token is None else srv.ws_url(ROOM, token=token)
            async with yclient(url, sync=False) as client:
                assert await client.wait_closed() == 4401, name


async def test_access_unknown_project_is_4404_and_non_member_4403() -> None:
    async with live_server(TEST) as srv:
        await seed_project(srv, "p1", MEMBERS)
        token = make_token("ed")
        async with yclient(srv.ws_url("projects/elsewhere/flows/f1", token=token), sync=False) as c:
            assert await c.wait_closed() == 4404
        async with yclient(srv.ws_url(ROOM, token=make_token("stranger")), sync=False) as c:
            assert await c.wait_closed() == 4403
        async with yclient(srv.ws_url(ROOM, token=make_token("vi")), sync=False) as c:
            assert await c.wait_closed() == 4404  # a viewer cannot create the document


async def test_access_workspace_role_applies_without_direct_membership() -> None:
    async with live_server(TEST) as srv:
        identity = identity_of(srv)
        ws = await identity.create_workspace("Studio", actor=TEST_ACTOR)
        await identity.create_project("p1", actor=TEST_ACTOR, project_id="p1", workspace_id=ws)
        await identity.set_workspace_member(ws, "wm", WorkspaceRole.MEMBER, actor=TEST_ACTOR)
        async with yclient(srv.ws_url(ROOM, token=make_token("wm"), ext="ack")) as member:
            set_node(member.doc, "n1", type="hub")
            await member.flush_acked()


async def test_access_session_closes_with_4401_when_its_token_expires() -> None:
    async with live_server({**TEST, "STORYARN_JWT_LEEWAY_SECONDS": "0"}) as srv:
        await seed_project(srv, "p1", MEMBERS)
        token = make_token("ed", ttl=2)
        async with yclient(srv.ws_url(ROOM, token=token)) as client:
            started = time.monotonic()
            assert await client.wait_closed(timeout=5) == 4401
            assert time.monotonic() - started < 3


async def test_access_removed_member_is_cut_off_within_a_second() -> None:
    env = {**TEST, "STORYARN_ACCESS_POLL_SECONDS": "0"}  # the signal alone must do it
    async with live_server(env) as srv:
        await seed_project(srv, "p1", MEMBERS)
        owner = {"Authorization": f"Bearer {make_token('ow')}"}
        async with (
            yclient(srv.ws_url(ROOM, token=make_token("ed"))) as editor,
            yclient(srv.ws_url(ROOM, token=make_token("vi"))) as viewer,
            httpx.AsyncClient(base_url=srv.base_url, headers=owner) as http,
        ):
            response = await http.delete("/api/v1/projects/p1/members/ed")
            assert response.status_code == 204
            started = time.monotonic()
            assert await editor.wait_closed(timeout=1) == 4403
            assert time.monotonic() - started < 1
            await asyncio.sleep(0.1)
            assert viewer.close_code is None
        # Coming back is refused too.
        async with yclient(srv.ws_url(ROOM, token=make_token("ed")), sync=False) as again:
            assert await again.wait_closed() == 4403


async def test_access_downgrade_closes_and_reconnect_is_read_only() -> None:
    async with live_server(TEST) as srv:
        await seed_project(srv, "p1", MEMBERS)
        owner = {"Authorization": f"Bearer {make_token('ow')}"}
        async with httpx.AsyncClient(base_url=srv.base_url, headers=owner) as http:
            async with yclient(srv.ws_url(ROOM, token=make_token("ed"))) as editor:
                response = await http.put("/api/v1/projects/p1/members/ed", json={"role": "viewer"})
                assert response.json()["previous_role"] == "editor"
                assert await editor.wait_closed(timeout=1) == 4403
            async with yclient(srv.ws_url(ROOM, token=make_token("ed"))) as again:
                set_node(again.doc, "x", type="hub")
                await again.flush()
                room = srv.services.rooms.get(KEY)
                assert room is not None
                await again.wait_for(lambda: room.dropped_readonly_updates == 1)
            # An upgrade closes nothing.
            async with yclient(srv.ws_url(ROOM, token=make_token("vi"))) as viewer:
                await http.put("/api/v1/projects/p1/members/vi", json={"role": "editor"})
                await asyncio.sleep(0.3)
                assert viewer.close_code is None


async def test_access_development_keeps_names_and_creates_projects() -> None:
    async with live_server() as srv:
        async with yclient(srv.ws_url("projects/fresh/flows/f1", token="alice", ext="ack")) as c:
            set_node(c.doc, "n1", type="hub")
            await c.flush_acked()
        assert await identity_of(srv).project("fresh") is not None
        # A JWT is still checked in development: an expired one is refused.
        expired = make_token("alice", ttl=-3600)
        async with yclient(srv.ws_url(ROOM, token=expired), sync=False) as c:
            assert await c.wait_closed() == 4401
        # And a membership still applies to a name.
        await identity_of(srv).set_member("fresh", "alice", ProjectRole.VIEWER, actor=TEST_ACTOR)
        async with yclient(srv.ws_url("projects/fresh/flows/f1", token="alice")) as c:
            set_node(c.doc, "n2", type="hub")
            await c.flush()
            room = srv.services.rooms.get(DocKey("fresh", DocKind.FLOW, "f1"))
            assert room is not None
            await c.wait_for(lambda: room.dropped_readonly_updates == 1)
