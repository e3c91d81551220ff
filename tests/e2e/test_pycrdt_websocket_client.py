"""Interop: pycrdt's `Provider` (the client side of pycrdt-websocket) and a stock JS client.

pycrdt-websocket 0.16.5 ships no client provider of its own: its documented client is
`pycrdt.Provider` over a `Channel` (its `HttpxWebsocket` needs httpx-ws, which we do not
install), so the channel here is `harness.WebsocketsChannel` over `websockets`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycrdt import Doc, Map, Provider, Text
from websockets.asyncio.client import connect

from tests.e2e.harness import (
    WebsocketsChannel,
    doc_json,
    eventually,
    flow_key,
    open_agent,
    server_json,
)
from tests.support.live_server import live_server

pytestmark = pytest.mark.e2e

DEV = {"STORYARN_ENV": "development"}


async def test_pycrdt_provider_and_stock_js_client_sync_both_ways() -> None:
    key = flow_key()
    async with live_server(DEV) as server, open_agent(server) as agent:
        await agent.call("connect", name="js", room=key.name)
        await agent.call("edit", name="js", recipe="addItem", args={"id": "n1", "text": "JS"})

        doc: Doc = Doc()

        def python_json() -> dict[str, Any]:
            return doc_json(doc, key.kind)

        url = server.ws_url(key.name, token="python")
        async with (
            connect(url, max_size=None) as websocket,
            Provider(doc, WebsocketsChannel(websocket, key.name)) as provider,
        ):
            async with asyncio.timeout(5):
                await provider.synced.wait()
            # Existing content: JS -> Python through the server's sync step 2.
            await eventually(
                lambda: python_json()["nodes"].get("n1", {}).get("data", {}).get("text") == "JS",
                what="the JS item in the Python doc",
            )

            # Live edit JS -> Python.
            args = {"id": "n1", "text": " and more"}
            js_json = await agent.call("edit", name="js", recipe="insertText", args=args)
            await eventually(lambda: python_json() == js_json, what="the JS edit in Python")

            # Live edit Python -> JS, nested types included.
            with doc.transaction():
                doc.get("meta", type=Map)["title"] = "from Python"
                data = Map({"text": Text("typed in Python")})
                doc.get("nodes", type=Map)["py"] = Map({"type": "hub", "x": 1.5, "data": data})
                doc.get("nodes", type=Map)["n1"]["data"]["text"].insert(0, "Py+")
            expected = python_json()
            assert expected["nodes"]["n1"]["data"]["text"] == "Py+JS and more"
            await agent.call("waitJSON", name="js", expected=expected)

            assert server_json(server, key) == expected
            status = await agent.call("status", name="js")
            assert status["closes"] == []
