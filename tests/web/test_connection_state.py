"""Connection state in real Chromium: "Saved" only after the server's ack, offline edits merged
on reconnect, and a clear message when the server refuses the sign-in (4401)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pycrdt import Doc

from crdt.schema import DocKey, DocKind
from crdt.views import read_flow
from persistence.identity import ProjectRole
from persistence.store import DocumentStore
from server.auth import Principal, Role, StaticAuthenticator
from tests.support.live_server import LiveServer, live_server
from tests.support.tokens import make_token, seed_project
from tests.web.harness import run_scenario

# Drives Node (Playwright) and Chromium: deselect with -m "not e2e" where Node is missing.
pytestmark = pytest.mark.e2e


class CommitGate:
    """Holds the store's appends while closed: the server applies updates but cannot commit."""

    def __init__(self, store: DocumentStore) -> None:
        self.open = asyncio.Event()
        self.open.set()
        self.held = 0
        original = store.append

        async def append(*args: Any, **kwargs: Any) -> int:
            if not self.open.is_set():
                self.held += 1
            await self.open.wait()
            return await original(*args, **kwargs)

        store.append = append  # type: ignore[method-assign]


def flow_room_nodes(srv: LiveServer, project: str, flow: str) -> Iterator[str]:
    room = srv.services.rooms.get(DocKey(project, DocKind.FLOW, flow))
    if room is None or room.protocol is None:
        return iter(())
    return iter(read_flow(room.protocol.doc).nodes)


async def test_saved_appears_only_after_the_server_acknowledges() -> None:
    async with live_server() as srv:
        gate = CommitGate(srv.services.store)

        async def step(name: str, data: dict[str, Any]) -> dict[str, Any]:
            if name == "ready":
                gate.open.clear()
            elif name == "edited":
                async with asyncio.timeout(10):
                    while data["nodeId"] not in set(flow_room_nodes(srv, "demo", "acked")):
                        await asyncio.sleep(0.02)
                    while gate.held == 0:  # the commit holding the node waits at the gate
                        await asyncio.sleep(0.02)
            elif name == "checked":
                gate.open.set()
            return {}

        result = await run_scenario(
            "ack", server=srv.base_url, on_checkpoint=step, project="demo", flow="acked"
        )
        assert result["whileHeld"] == "Saving…"
        assert result["savedWhileHeld"] == "false"
        assert result["after"] == "Saved"
        assert result["errors"] == []


async def test_offline_edits_are_kept_and_merged_on_reconnect() -> None:
    async with live_server() as srv:
        result = await run_scenario("offline", server=srv.base_url, project="demo", flow="away")
        room = srv.services.rooms.get(DocKey("demo", DocKind.FLOW, "away"))
        assert room is not None and room.protocol is not None
        flow = read_flow(room.protocol.doc)
        assert set(flow.nodes) == set(result["nodes"])
        assert result["offlineNode"] in flow.nodes and result["onlineNode"] in flow.nodes
        assert flow.nodes[result["offlineNode"]].data["label"] == "Written offline"
        assert result["offlineState"] == "Not saved yet: changes kept on this device"
        assert result["errors"] == []


async def test_refused_sign_in_asks_to_sign_in_again() -> None:
    principals = {"ann-token": Principal("ann", Role.EDITOR)}
    async with live_server(
        {"STORYARN_ENV": "test"}, authenticator=StaticAuthenticator(principals)
    ) as srv:
        result = await run_scenario("signin", server=srv.base_url, project="demo", flow="locked")
        assert result["bannerCode"] == "4401"
        assert "Sign in again" in result["banner"]
        assert result["afterSignIn"] == "Saved"


async def test_removed_access_is_explained() -> None:
    async with live_server({"STORYARN_ENV": "test"}) as srv:
        await seed_project(srv, "studio", {"ow": ProjectRole.OWNER, "ed": ProjectRole.EDITOR})
        owner = {"Authorization": f"Bearer {make_token('ow')}"}

        async def revoke(name: str, data: dict[str, Any]) -> dict[str, Any]:
            assert name == "open"
            async with httpx.AsyncClient(base_url=srv.base_url, headers=owner) as http:
                response = await http.delete("/api/v1/projects/studio/members/ed")
            assert response.status_code in (200, 204)
            return {}

        result = await run_scenario(
            "revoked",
            server=srv.base_url,
            on_checkpoint=revoke,
            project="studio",
            flow="f1",
            token=make_token("ed"),
        )
        assert result["who"] == "ed"
        assert "access to this project was removed" in result["banner"]
        assert result["link"] == "No access"
        assert result["errors"] == []


async def test_storage_outage_closes_with_1013_and_the_page_retries_until_saved() -> None:
    # A real outage: the database itself refuses writes (a trigger aborts every insert into the
    # update log), so the room's commits fail, and past the pending bound the server closes the
    # writer with 1013. Connection rate limits are off: the page reconnects at its own pace.
    env = {
        "STORYARN_MAX_PENDING_BYTES": "100",
        "STORYARN_CONNECT_RATE_PER_ADDRESS": "0",
        "STORYARN_CONNECT_RATE_PER_USER": "0",
    }
    async with live_server(env) as srv:
        database = srv.services.settings.data_dir / "storyarn.db"
        failures_before = 0

        def sql(statement: str) -> None:
            with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
                db.execute(statement)
                db.commit()

        async def outage(name: str, data: dict[str, Any]) -> dict[str, Any]:
            nonlocal failures_before
            if name == "break":
                sql(
                    "CREATE TRIGGER refuse_updates BEFORE INSERT ON document_updates "
                    "BEGIN SELECT RAISE(ABORT, 'storage unavailable'); END"
                )
            elif name == "repair":
                room = srv.services.rooms.get(DocKey("demo", DocKind.FLOW, "outage"))
                assert room is not None
                failures_before = room.commit_failures
                sql("DROP TRIGGER refuse_updates")
            return {}

        result = await run_scenario(
            "retry", server=srv.base_url, on_checkpoint=outage, project="demo", flow="outage"
        )
        assert failures_before > 0
        assert result["link"] == "Retrying…"
        assert "storage is unavailable" in result["banner"]
        assert result["save"] == "Not saved yet: changes kept on this device"
        assert result["after"] == "Online"
        assert result["bannerHidden"] is True
        # What the page wrote during the outage is stored now, not just held in memory.
        stored = await srv.services.store.load(DocKey("demo", DocKind.FLOW, "outage"))
        assert stored is not None
        doc: Doc[Any] = Doc()
        for update in stored.updates:
            doc.apply_update(update)
        assert read_flow(doc).nodes[result["nodeId"]].data["label"] == "Kept through the outage"
        assert result["errors"] == []
