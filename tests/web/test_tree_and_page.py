"""The project tree and the page editor in real Chromium, checked against the server's docs."""

from __future__ import annotations

from typing import Any

import pytest

from crdt.schema import DocKey, DocKind
from crdt.views import BlockType, read_page, read_tree
from tests.support.live_server import LiveServer, live_server
from tests.web.harness import run_scenario

# Drives Node (Playwright) and Chromium: deselect with -m "not e2e" where Node is missing.
pytestmark = pytest.mark.e2e


def _doc(srv: LiveServer, key: DocKey) -> Any:
    room = srv.services.rooms.get(key)
    assert room is not None and room.protocol is not None, f"{key.name} is not loaded"
    return room.protocol.doc


async def test_tree_and_page_edits_reach_the_server() -> None:
    async with live_server() as srv:
        checked: dict[str, Any] = {}

        async def check(name: str, data: dict[str, Any]) -> dict[str, Any]:
            assert name == "done"
            tree = read_tree(_doc(srv, DocKey("demo", DocKind.TREE)))
            flows = tree.items[DocKind.FLOW]
            assert flows[data["opening"]].name == "Prologue"
            assert flows[data["tavern"]].parent_id == data["opening"]
            page_item = tree.items[DocKind.PAGE][data["characters"]]
            assert page_item.name == "Characters"
            assert page_item.deleted_at is not None
            assert tree.problems == ()
            page = read_page(_doc(srv, DocKey("demo", DocKind.PAGE, data["characters"])))
            by_type = {block.type: block for block in page.blocks}
            assert [block.type for block in page.blocks] == [
                BlockType.TEXT,
                BlockType.NUMBER,
                BlockType.BOOLEAN,
                BlockType.RICH_TEXT,
            ]
            assert by_type[BlockType.TEXT].label == "Name"
            assert by_type[BlockType.TEXT].content == "Jaime"
            assert by_type[BlockType.NUMBER].label == "Health"
            assert by_type[BlockType.NUMBER].content == 42
            assert by_type[BlockType.BOOLEAN].content is True
            assert by_type[BlockType.RICH_TEXT].content == "<p>Knight of the realm</p>"
            assert page.problems == ()
            checked.update(data)
            return {}

        result = await run_scenario(
            "tree_page", server=srv.base_url, on_checkpoint=check, project="demo"
        )
        assert checked, "the scenario never reached its checkpoint"
        assert result["errors"] == []
