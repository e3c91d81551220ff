"""View-only mode in real Chromium: a viewer (role from GET /api/v1/projects/P/me) gets no
editing controls, its attempts reach neither the editor nor the server, and it sees the
editor's work live."""

from __future__ import annotations

from typing import Any

import pytest

from crdt.schema import DocKey, DocKind
from crdt.views import read_flow, read_page
from persistence.identity import ProjectRole
from tests.support.live_server import LiveServer, live_server
from tests.support.tokens import make_token, seed_project
from tests.web.harness import run_scenario

# Drives Node (Playwright) and Chromium: deselect with -m "not e2e" where Node is missing.
pytestmark = pytest.mark.e2e


def _room(srv: LiveServer, key: DocKey) -> Any:
    room = srv.services.rooms.get(key)
    assert room is not None and room.protocol is not None, f"{key.name} is not loaded"
    return room


async def test_viewer_sees_live_but_cannot_edit() -> None:
    async with live_server({"STORYARN_ENV": "test"}) as srv:
        await seed_project(srv, "studio", {"ed": ProjectRole.EDITOR, "vi": ProjectRole.VIEWER})
        checked: dict[str, Any] = {}

        async def check(name: str, data: dict[str, Any]) -> dict[str, Any]:
            assert name == "done"
            room = _room(srv, DocKey("studio", DocKind.FLOW, "f1"))
            flow = read_flow(room.protocol.doc)
            node = flow.nodes[data["dialogue"]]
            assert (node.x, node.y) == (data["x"], data["y"])
            assert node.data["text"] == "<p>Hello there</p>"
            assert flow.meta.get("name") != "Hijacked"
            assert sorted(n.type.value for n in flow.nodes.values() if n.type) == [
                "dialogue",
                "entry",
                "hub",
            ]
            assert flow.connections == {}
            assert room.dropped_readonly_updates > 0
            page = read_page(_room(srv, DocKey("studio", DocKind.PAGE, "p1")).protocol.doc)
            assert [b.type.value for b in page.blocks if b.type] == [
                "text",
                "table",
                "gallery",
                "reference",
            ]
            assert page.blocks[0].content == "Jaime Lannister"
            checked.update(data)
            return {}

        result = await run_scenario(
            "viewer",
            server=srv.base_url,
            on_checkpoint=check,
            project="studio",
            flow="f1",
            page="p1",
            editor=make_token("ed"),
            viewer=make_token("vi"),
            timeout=120,
        )
        assert checked, "the scenario never reached its checkpoint"
        assert result["editorBadge"] is False
        assert result["controls"] == {
            "addNode": 0,
            "deleteButton": 0,
            "undo": 0,
            "newFlow": 0,
            "treeActions": 0,
            "draggableRows": 0,
            "richTextEditable": "false",
            "stageReadOnly": True,
            "addResponseDisabled": True,
            "pinsDisabled": True,
        }
        # Nothing the viewer tried changed even its own copy.
        before, after = result["before"], result["afterUi"]
        assert (after["x"], after["y"]) == (before["x"], before["y"])
        assert after["nodes"] == 2 and after["connections"] == 0
        assert "INTRUDER" not in after["text"]
        # The editor never saw the viewer's forced change.
        assert result["editorSees"]["x"] == before["x"]
        assert result["editorSees"]["name"] != "Hijacked"
        assert result["page"] == {
            "addBlock": 0,
            "labelReadOnly": True,
            "valueReadOnly": True,
            "deleteVisible": False,
            "blockTools": 0,
            "tableLocked": True,
            "galleryLocked": True,
            "referenceDisabled": True,
            "valueAfterTyping": "Jaime",
        }
        assert result["violations"] == []
        assert result["errors"] == []
