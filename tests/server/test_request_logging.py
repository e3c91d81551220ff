"""Structured logs of a real server process: context on every line, secrets on none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Map

from server.logging import redact
from tests.support.live_server import TEST_SECRET, free_port, live_server
from tests.support.ops_app import TOKEN, ops_server
from tests.support.yclient import yclient

CONTENT = "confidential-document-content-7f3a"


def _lines(log_file: Path) -> list[dict[str, Any]]:
    text = log_file.read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_request_logging_binds_context_and_never_logs_tokens_or_content(
    tmp_path: Path,
) -> None:
    port, log_file = free_port(), tmp_path / "server.log"
    env = {"STORYARN_SECRET_KEY": TEST_SECRET, "STORYARN_LOG_LEVEL": "debug"}
    async with ops_server(env, port, log_file):
        url = f"ws://127.0.0.1:{port}/sync/projects/p1/flows/f1?token={TOKEN}&ext=ack"
        async with yclient(url) as client:
            client.doc.get("nodes", type=Map)["n1"] = Map({"type": "dialogue", "text": CONTENT})
            await client.flush_acked()
        async with httpx.AsyncClient() as http:
            answer = await http.get(
                f"http://127.0.0.1:{port}/health?probe=1&token={TOKEN}",
                headers={"X-Request-ID": "probe-0123456789"},
            )
            assert answer.headers["x-request-id"] == "probe-0123456789"
    raw = log_file.read_text()
    lines = _lines(log_file)  # every line is JSON, ours and the libraries' alike
    assert TOKEN not in raw
    assert CONTENT not in raw
    assert "probe=1" not in raw
    assert "BINARY" not in raw  # the transport's frame dumps: document content in hex
    # uvicorn's own line of the connection and ours share its request id.
    accepted = next(
        line for line in lines if "WebSocket /sync/projects/p1/flows/f1" in line["event"]
    )
    assert accepted["logger"].startswith("uvicorn")
    assert "?[redacted]" in accepted["event"]
    joined = next(line for line in lines if line["event"] == "connection_joined")
    assert joined["request_id"] == accepted["request_id"]
    assert (joined["user_id"], joined["project_id"]) == ("alice", "p1")
    assert joined["room"] == "projects/p1/flows/f1"
    # The room's own work is logged as the room's, not as the connection that started it.
    loaded = next(line for line in lines if line["event"] == "room_loaded")
    assert loaded["room"] == "projects/p1/flows/f1"
    assert "user_id" not in loaded
    assert any(line.get("request_id") == "probe-0123456789" for line in lines)
    assert {line["level"] for line in lines} <= {"debug", "info", "warning", "error"}


async def test_request_logging_keeps_tracebacks_in_json_lines(tmp_path: Path) -> None:
    port, log_file = free_port(), tmp_path / "server.log"
    async with ops_server({"STORYARN_SECRET_KEY": TEST_SECRET}, port, log_file):
        async with httpx.AsyncClient() as http:
            answer = await http.get(
                f"http://127.0.0.1:{port}/test/crash",
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        assert answer.status_code == 500
    crash = [line for line in _lines(log_file) if "deliberate crash" in line.get("exception", "")]
    assert crash
    assert "Traceback" in crash[0]["exception"]
    assert TOKEN not in log_file.read_text()


async def test_request_logging_takes_a_plausible_request_id_or_makes_one() -> None:
    async with live_server() as server, httpx.AsyncClient() as http:
        given = await http.get(
            f"{server.base_url}/health/live", headers={"X-Request-ID": "a-b.c:1234"}
        )
        made = await http.get(f"{server.base_url}/health/live")
        forged = await http.get(
            f"{server.base_url}/health/live", headers={"X-Request-ID": 'x" "level": "error'}
        )
    assert given.headers["x-request-id"] == "a-b.c:1234"
    assert len(made.headers["x-request-id"]) == 32
    assert forged.headers["x-request-id"] not in (
        'x" "level": "error',
        made.headers["x-request-id"],
    )


def test_request_logging_redacts_query_strings_but_not_questions() -> None:
    assert redact("GET /sync/p?token=abc&ext=ack 200") == "GET /sync/p?[redacted] 200"
    assert redact("is the room loaded?") == "is the room loaded?"
