"""A REST edit reaches a connected stock y-websocket client (Node, yjs) like any other edit."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.harness import flow_key, open_agent, server_json
from tests.support.live_server import live_server

pytestmark = pytest.mark.e2e

DEV = {"STORYARN_ENV": "development"}


async def test_rest_node_edits_reach_a_stock_client() -> None:
    key = flow_key()
    base = f"/api/v1/projects/{key.project_id}/flows/{key.doc_id}/nodes"
    async with (
        live_server(DEV) as server,
        open_agent(server) as agent,
        httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": "Bearer ed"}) as api,
    ):
        await agent.call("connect", name="a", room=key.name)
        created = await api.post(base, json={"id": "n1", "type": "hub", "x": 10, "y": 20})
        assert created.status_code == 201, created.text
        expected = server_json(server, key)
        assert expected["nodes"]["n1"]["type"] == "hub"
        await agent.call("waitJSON", name="a", expected=expected)

        moved = await api.patch(f"{base}/n1", json={"x": 300})
        assert moved.status_code == 200, moved.text
        after = server_json(server, key)
        assert after["nodes"]["n1"]["x"] == 300
        await agent.call("waitJSON", name="a", expected=after)

        deleted = await api.delete(f"{base}/n1")
        assert deleted.status_code == 204
        await agent.call("waitJSON", name="a", expected=server_json(server, key))
        assert "n1" not in server_json(server, key)["nodes"]
