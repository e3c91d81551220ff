"""The project tree in real Chromium: drag and drop, Alt+arrow keys, and the trash; the
server's tree document must hold the moves as fractional positions with no problems."""

from __future__ import annotations

from typing import Any

import pytest

from crdt.schema import DocKey, DocKind
from crdt.views.tree import create_item, delete_item, read_tree
from tests.support.live_server import live_server
from tests.support.yclient import yclient
from tests.web.harness import run_scenario

# Drives Node (Playwright) and Chromium: deselect with -m "not e2e" where Node is missing.
pytestmark = pytest.mark.e2e


async def test_tree_drag_and_drop_keyboard_moves_and_trash() -> None:
    async with live_server() as srv:
        async with yclient(srv.ws_url("projects/demo/tree", token="seed", ext="ack")) as c:
            with c.doc.transaction():
                for item_id, name, position in (
                    ("a1", "Act 1", "V"),
                    ("a2", "Act 2", "k"),
                    ("a3", "Act 3", "t"),
                ):
                    create_item(c.doc, DocKind.FLOW, item_id, name, position=position)
                for item_id, name, position in (
                    ("jaime", "Jaime", "V"),
                    ("castle", "Castle", "k"),
                    ("old", "Old notes", "u"),
                ):
                    create_item(c.doc, DocKind.PAGE, item_id, name, position=position)
                delete_item(c.doc, DocKind.PAGE, "old", deleted_at="2026-11-20T10:00:00Z")
            await c.flush_acked()

        checked: dict[str, Any] = {}

        async def check(name: str, data: dict[str, Any]) -> dict[str, Any]:
            assert name == "done"
            room = srv.services.rooms.get(DocKey("demo", DocKind.TREE))
            assert room is not None and room.protocol is not None
            tree = read_tree(room.protocol.doc)
            assert tree.problems == ()
            assert tree.parent_of(DocKind.FLOW, "a3") == "a1"
            assert [i.id for i in tree.children(DocKind.FLOW, None)] == ["a2", "a1"]
            pages = tree.children(DocKind.PAGE, None, include_deleted=True)
            assert [i.id for i in pages] == ["castle", "jaime", "old"]
            deleted = {i.id: i.deleted_at is not None for i in pages}
            assert deleted == {"castle": False, "jaime": True, "old": False}
            checked["done"] = True
            return {}

        result = await run_scenario(
            "tree_dnd", server=srv.base_url, on_checkpoint=check, project="demo"
        )
        assert checked, "the scenario never reached its checkpoint"
        assert result["flowsAfterDrag"] == ["a2", "a1"]
        assert result["focusInside"] == "pages:castle:link"
        assert result["focusAfterKeys"] == "pages:castle:link"
        assert result["trashBefore"] == ["Old notes"]
        assert result["trashOpen"] is True
        assert result["bobFlows"] == ["a2", "a1"]
        assert result["bobPages"] == ["castle", "old"]
        assert result["errors"] == []
