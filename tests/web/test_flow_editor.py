"""The flow editor in real Chromium: two people co-edit one flow and the server agrees."""

from __future__ import annotations

from typing import Any

import pytest

from crdt.schema import DocKey, DocKind
from crdt.views import read_flow
from tests.support.live_server import LiveServer, live_server
from tests.web.harness import run_scenario

# Drives Node (Playwright) and Chromium: deselect with -m "not e2e" where Node is missing.
pytestmark = pytest.mark.e2e


def server_flow(srv: LiveServer, project: str, flow: str) -> Any:
    room = srv.services.rooms.get(DocKey(project, DocKind.FLOW, flow))
    assert room is not None and room.protocol is not None, "the room is not loaded"
    return read_flow(room.protocol.doc)


async def test_flow_two_browsers_coedit_and_converge() -> None:
    async with live_server() as srv:
        seen: dict[str, Any] = {}

        async def converged(name: str, data: dict[str, Any]) -> dict[str, Any]:
            assert name == "converged"
            seen.update(data)
            flow = server_flow(srv, "demo", "coedit")
            browser = data["flow"]
            assert set(flow.nodes) == set(browser["nodes"])
            for node_id, node in flow.nodes.items():
                assert node.type is not None
                assert node.type.value == browser["nodes"][node_id]["type"]
                assert (node.x, node.y) == (
                    browser["nodes"][node_id]["x"],
                    browser["nodes"][node_id]["y"],
                )
            dialogue = flow.nodes[data["dialogue"]]
            assert dialogue.data["text"] == "<p>Who goes there?</p>"
            assert flow.nodes[data["hub"]].data["label"] == "Crossroads"
            entry = flow.entry
            assert entry is not None
            edges = {
                (c.source_node_id, c.source_pin, c.target_node_id, c.target_pin)
                for c in flow.connections.values()
            }
            assert edges == {
                (entry.id, "output", data["dialogue"], "input"),
                (data["dialogue"], "output", data["hub"], "input"),
            }
            assert flow.problems == ()
            return {}

        result = await run_scenario(
            "coedit",
            server=srv.base_url,
            on_checkpoint=converged,
            project="demo",
            flow="coedit",
        )
        assert seen, "the scenario never reached its checkpoint"
        assert result["errors"] == []
