"""Accessibility of each view in real Chromium (axe-core), dialog focus, and the narrow layout."""

from __future__ import annotations

import pytest

from tests.support.live_server import live_server
from tests.web.harness import run_scenario

# Drives Node (Playwright) and Chromium: deselect with -m "not e2e" where Node is missing.
pytestmark = pytest.mark.e2e


async def test_views_have_no_serious_accessibility_violations() -> None:
    async with live_server() as srv:
        result = await run_scenario("a11y", server=srv.base_url, project="demo", flow="a11y")
    assert result["violations"] == []
    assert result["keyboardEdge"] == ["output"]
    assert result["focusIn"] == "signin-token"
    assert result["stillIn"] is True
    assert result["focusBack"] == "signin"
    assert result["drawerHidden"] is True
    # The new editors are reachable and usable with the keyboard alone.
    assert (result["ruleFocus"], result["operatorFocus"]) == ("variable", "operator")
    assert result["keyboardRule"] == "health"
    assert result["keyboardTrash"] is True
    # A table on a narrow screen scrolls inside its block; the page itself does not overflow.
    assert result["narrowOverflow"] == {"page": 0, "main": 0}
    assert result["errors"] == []
