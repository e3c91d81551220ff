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
            "members": [
                {"user_id": "ed", "role": "editor"},
                {"user_id": "ow", "role": "owner"},
                {"user_id": "vi", "role": "viewer"},
            ]
        }
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
        assert (bad_role.status_code, bad_role.json()["error"]) == (
            400,
            "role must be owner, editor or viewer",
        )
        not_json = await http.put(url, content=b"{", headers=_as("ow"))
        assert not_json.status_code == 400
        last = await http.put(
            "/api/v1/projects/p1/members/ow", json={"role": "editor"}, headers=_as("ow")
        )
        assert (last.status_code, last.json()["error"]) == (
            409,
            "a project keeps at least one owner",
        )
        gone = await http.get("/api/v1/projects/nope/members", headers=_as("ow"))
        assert gone.status_code == 404
        bad_page = await http.get("/api/v1/projects/p1/audit?limit=x", headers=_as("ow"))
        assert bad_page.status_code == 400


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
        newest = audit["entries"][0]
        assert newest["action"] == "version.restore"
        assert newest["actor"] == "ed"
        assert newest["target"] == f"projects/p1/flows/f1@{saved['id']}"
        assert newest["client_address"] == "127.0.0.1"
        assert editor_token not in str(audit)
        page = await http.get(
            f"/api/v1/projects/p1/audit?limit=1&before={newest['id']}", headers=_as("ow")
        )
        assert [e["id"] for e in page.json()["entries"]] == [audit["entries"][1]["id"]]
