"""Table, gallery and reference blocks, and the condition and instruction editors, in real
Chromium with two people editing at once; the server's documents are read with crdt.views."""

from __future__ import annotations

from typing import Any

import pytest

from crdt.schema import DocKey, DocKind
from crdt.views import BlockType, read_flow, read_page
from tests.support.live_server import LiveServer, live_server
from tests.web.harness import run_scenario

# Drives Node (Playwright) and Chromium: deselect with -m "not e2e" where Node is missing.
pytestmark = pytest.mark.e2e


def _doc(srv: LiveServer, key: DocKey) -> Any:
    room = srv.services.rooms.get(key)
    assert room is not None and room.protocol is not None, f"{key.name} is not loaded"
    return room.protocol.doc


def _check_page(srv: LiveServer, page_id: str, flow_id: str) -> None:
    page = read_page(_doc(srv, DocKey("demo", DocKind.PAGE, page_id)))
    assert page.problems == ()
    assert [b.type for b in page.blocks] == [
        BlockType.TABLE,
        BlockType.GALLERY,
        BlockType.REFERENCE,
    ]
    table, gallery, reference = page.blocks
    assert table.label == "Stats"
    columns = table.value["columns"]
    assert [(c["name"], c["slug"], c["type"]) for c in columns] == [
        ("Health", "health", "number"),
        ("Title", "title", "text"),
        ("Alive", "alive", "boolean"),
    ]
    rows = table.value["rows"]
    assert len(rows) == 2
    assert rows[0]["name"] == "Base"
    # Two people wrote two cells of one row at once: both are kept.
    assert rows[0]["cells"] == {"health": 42, "title": "Ser", "alive": True}
    assert gallery.label == "Portraits"
    [image] = gallery.value["images"]
    assert (image["assetId"], image["label"], image["description"]) == (
        "asset-123",
        "Young Jaime",
        "Before the war",
    )
    assert reference.value == {"targetType": "flow", "targetId": flow_id}


def _check_flow(srv: LiveServer, data: dict[str, Any]) -> None:
    flow = read_flow(_doc(srv, DocKey("demo", DocKind.FLOW, data["tavern"])))
    assert flow.problems == ()
    condition = flow.nodes[data["conditionId"]].data["condition"]
    [group] = condition["blocks"]
    assert group["logic"] == "any"
    rules = [(r["sheet"], r["variable"], r["operator"], r["value"]) for r in group["rules"]]
    # Ann wrote the first rule while Bob wrote the second: both are whole.
    assert rules == [
        ("mc.jaime", "health", "greater_than", "3"),
        ("mc.jaime", "alive", "is_true", ""),
    ]
    [assignment] = flow.nodes[data["instructionId"]].data["assignments"]
    assert {k: assignment[k] for k in ("sheet", "variable", "operator", "value", "valueType")} == {
        "sheet": "mc.jaime",
        "variable": "health",
        "operator": "subtract",
        "value": "1",
        "valueType": "literal",
    }


async def test_blocks_conditions_and_instructions_reach_the_server() -> None:
    async with live_server() as srv:
        checked: dict[str, Any] = {}

        async def check(name: str, data: dict[str, Any]) -> dict[str, Any]:
            assert name == "done"
            _check_page(srv, data["jaime"], data["tavern"])
            _check_flow(srv, data)
            checked.update(data)
            return {}

        result = await run_scenario(
            "blocks_logic", server=srv.base_url, on_checkpoint=check, project="demo", timeout=120
        )
        assert checked, "the scenario never reached its checkpoint"
        assert result["referenceHref"] == f"#/projects/demo/flows/{checked['tavern']}"
        assert result["valueHidden"] is True
        assert result["summary"] == "mc.jaime.health > 3 or mc.jaime.alive is true"
        assert result["errors"] == []
