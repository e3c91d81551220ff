"""Owners manage members and read the audit log over REST; everyone else is refused."""

import httpx

from persistence.identity import ProjectRole
from tests.server.conftest import set_node
from tests.support.live_server import live_server
from tests.support.tokens import make_token, seed_project
from tests.support.yclient import yclient

TEST = {"STORYARN_ENV": "test"}
MEMBERS = {"ow": ProjectRole.OWNER, "ed": ProjectRole.EDITOR, "vi": ProjectRole.VIEWER}


def _as(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user)}"}


async def test_api_members_owner_lists_sets_and_removes() -> None:
    async with live_server(TEST) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        listed = await http.get("/api/v1/projects/p1/members", headers=_as("ow"))
        assert listed.json() == {
            "items": [
                {"user_id": "ed", "role": "editor"},
                {"user_id": "ow", "role": "owner"},
                {"user_id": "vi", "role": "viewer"},
            ],
            "next_cursor": None,
        }
        first = (await http.get("/api/v1/projects/p1/members?limit=2", headers=_as("ow"))).json()
        assert [m["user_id"] for m in first["items"]] == ["ed", "ow"]
        rest = await http.get(
            f"/api/v1/projects/p1/members?limit=2&cursor={first['next_cursor']}", headers=_as("ow")
        )
        assert rest.json() == {"items": [{"user_id": "vi", "role": "viewer"}], "next_cursor": None}
        put = await http.put(
            "/api/v1/projects/p1/members/new", json={"role": "editor"}, headers=_as("ow")
        )
        assert put.json() == {"member": {"user_id": "new", "role": "editor"}, "previous_role": None}
        deleted = await http.delete("/api/v1/projects/p1/members/new", headers=_as("ow"))
        assert deleted.status_code == 204
        again = await http.delete("/api/v1/projects/p1/members/new", headers=_as("ow"))
        assert again.status_code == 404


async def test_api_members_refusals() -> None:
    async with live_server(TEST) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        url = "/api/v1/projects/p1/members/ed"
        for user in ("ed", "vi"):
            assert (
                await http.get("/api/v1/projects/p1/members", headers=_as(user))
            ).status_code == 403
            assert (
                await http.get("/api/v1/projects/p1/audit", headers=_as(user))
            ).status_code == 403
            put = await http.put(url, json={"role": "owner"}, headers=_as(user))
            assert put.status_code == 403
        assert (await http.get("/api/v1/projects/p1/members")).status_code == 401
        bad_role = await http.put(url, json={"role": "admin"}, headers=_as("ow"))
        assert bad_role.status_code == 422
        assert bad_role.json()["error"]["details"] == [
            {"field": "role", "message": "must be one of owner, editor, viewer"}
        ]
        not_json = await http.put(url, content=b"{", headers=_as("ow"))
        assert not_json.status_code == 400
        last = await http.put(
            "/api/v1/projects/p1/members/ow", json={"role": "editor"}, headers=_as("ow")
        )
        assert (last.status_code, last.json()["error"]) == (
            409,
            {"code": "last_owner", "message": "a project keeps at least one owner"},
        )
        gone = await http.get("/api/v1/projects/nope/members", headers=_as("ow"))
        assert gone.status_code == 404
        bad_page = await http.get("/api/v1/projects/p1/audit?limit=x", headers=_as("ow"))
        assert bad_page.status_code == 422
        bad_cursor = await http.get("/api/v1/projects/p1/audit?cursor=eHl6", headers=_as("ow"))
        assert bad_cursor.json()["error"]["code"] == "validation_failed"


async def test_api_members_audit_records_restores_and_never_tokens() -> None:
    async with live_server(TEST) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", MEMBERS)
        editor_token = make_token("ed")
        async with yclient(srv.ws_url("projects/p1/flows/f1", token=editor_token, ext="ack")) as c:
            set_node(c.doc, "n1", type="hub")
            await c.flush_acked()
        base = "/api/v1/projects/p1/flows/f1/versions"
        editor = {"Authorization": f"Bearer {editor_token}"}
        saved = (await http.post(base, json={"name": "v"}, headers=editor)).json()["version"]
        restored = await http.post(f"{base}/{saved['id']}/restore", headers=editor)
        assert restored.status_code == 200
        audit = (await http.get("/api/v1/projects/p1/audit", headers=_as("ow"))).json()
        newest = audit["items"][0]
        assert newest["action"] == "version.restore"
        assert newest["actor"] == "ed"
        assert newest["target"] == f"projects/p1/flows/f1@{saved['id']}"
        assert newest["client_address"] == "127.0.0.1"
        assert editor_token not in str(audit)
        first = (await http.get("/api/v1/projects/p1/audit?limit=1", headers=_as("ow"))).json()
        assert [e["id"] for e in first["items"]] == [newest["id"]]
        page = await http.get(
            f"/api/v1/projects/p1/audit?limit=1&cursor={first['next_cursor']}", headers=_as("ow")
        )
        assert [e["id"] for e in page.json()["items"]] == [audit["items"][1]["id"]]


async def test_api_members_me_gives_the_callers_role() -> None:
    async with live_server(TEST) as srv, httpx.AsyncClient(base_url=srv.base_url) as http:
        await seed_project(srv, "p1", {**MEMBERS, "out": ProjectRole.VIEWER})
        await http.delete("/api/v1/projects/p1/members/out", headers=_as("ow"))
        for user, role in (("ow", "owner"), ("ed", "editor"), ("vi", "viewer")):
            me = await http.get("/api/v1/projects/p1/me", headers=_as(user))
            assert (me.status_code, me.json()) == (200, {"user_id": user, "role": role})
        assert (await http.get("/api/v1/projects/p1/me")).status_code == 401
        assert (await http.get("/api/v1/projects/p1/me", headers=_as("out"))).status_code == 403
        assert (await http.get("/api/v1/projects/zz/me", headers=_as("ow"))).status_code == 404
