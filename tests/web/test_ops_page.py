"""The ops page in real Chromium lists the rooms open on the server, refreshing live."""

from __future__ import annotations

import pytest

from tests.support.live_server import live_server
from tests.web.harness import run_scenario

# Drives Node (Playwright) and Chromium: deselect with -m "not e2e" where Node is missing.
pytestmark = pytest.mark.e2e


async def test_ops_page_lists_open_rooms_and_refreshes() -> None:
    async with live_server() as srv:
        result = await run_scenario("ops", server=srv.base_url, project="demo", flow="watched")
        assert result["clients"] == "1"
        assert result["instances"] == 1
        assert result["errors"] == []
