"""Error reports from a real server process to a local endpoint that speaks Sentry's protocol.

The endpoint is a plain HTTP server on 127.0.0.1 that decodes the SDK's envelopes; the DSN
points at it. Nothing is mocked: the SDK, its transport and the server are the real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Map
from starlette.requests import ClientDisconnect

from server.auth import Unauthenticated
from server.error_reporting import before_send
from server.rooms import DocumentNotFound
from tests.support.live_server import TEST_SECRET, free_port
from tests.support.ops_app import TOKEN, ops_server
from tests.support.yclient import yclient


class Collector:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.raw: list[bytes] = []

    def add(self, body: bytes) -> None:
        self.raw.append(body)
        lines = body.split(b"\n")
        index = 1  # line 0 is the envelope's header
        while index < len(lines) and lines[index]:
            header = json.loads(lines[index])
            length = header.get("length")
            if length is None:
                payload, index = lines[index + 1], index + 2
            else:  # a payload may span lines: take `length` bytes after the header line
                rest = b"\n".join(lines[index + 1 :])
                payload = rest[:length]
                index += 2 + payload.count(b"\n")
            if header.get("type") == "event":
                self.events.append(json.loads(payload))


@contextlib.contextmanager
def sentry_endpoint() -> Iterator[tuple[str, Collector]]:
    collector = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            collector.add(body)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # SDK at exit
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://public@127.0.0.1:{server.server_port}/1", collector
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def _wait_for(collector: Collector, predicate: Any) -> dict[str, Any]:
    async with asyncio.timeout(15):
        while True:
            for event in collector.events:
                if predicate(event):
                    return event
            await asyncio.sleep(0.05)


async def _get(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    # A fresh connection each time: uvicorn closes the one a crashed request came on.
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers=headers)


def _message(event: dict[str, Any]) -> str:
    values = event.get("exception", {}).get("values", [])
    return " ".join(str(v.get("value")) for v in values) or str(event.get("message", ""))


async def test_error_reporting_sends_crashes_with_context_and_drops_expected_errors(
    tmp_path: Path,
) -> None:
    with sentry_endpoint() as (dsn, collector):
        port = free_port()
        # The crashing room never commits: shutdown need not wait long for it.
        env = {
            "STORYARN_SECRET_KEY": TEST_SECRET,
            "SENTRY_DSN": dsn,
            "STORYARN_SHUTDOWN_SECONDS": "1",
        }
        async with ops_server(env, port, tmp_path / "server.log"):
            base = f"http://127.0.0.1:{port}"
            auth = {"Authorization": f"Bearer {TOKEN}"}
            # Expected in normal operation: none of these may be reported.
            assert (await _get(f"{base}/no/such/route?token={TOKEN}")).status_code == 404
            assert (await _get(f"{base}/test/expected", auth)).status_code == 500
            assert (await _get(f"{base}/test/disconnect")).status_code == 500
            assert (await _get(f"{base}/api/v1/projects/p1/tree/versions")).status_code == 401
            async with yclient(f"ws://127.0.0.1:{port}/sync/projects/p1/tree", sync=False) as c:
                assert await c.wait_closed() == 4401  # no token
            # A real crash, after them: the transport sends in order.
            crash_headers = {**auth, "X-Request-ID": "crash-request-0001"}
            assert (
                await _get(f"{base}/test/crash?token={TOKEN}", crash_headers)
            ).status_code == 500
            event = await _wait_for(collector, lambda e: "deliberate crash" in _message(e))
            # A bug under a websocket: the room's commit fails, logged with its traceback.
            url = f"ws://127.0.0.1:{port}/sync/projects/p1/flows/crash1?token={TOKEN}"
            async with yclient(url) as client:
                client.doc.get("nodes", type=Map)["n1"] = Map({"type": "dialogue"})
                await client.flush()
                bug = await _wait_for(collector, lambda e: "deliberate bug" in _message(e))
    assert event["environment"] == "test"
    assert event["release"].startswith("storyarn@")
    assert event["user"] == {"id": "alice"}
    assert event["tags"]["project_id"] == "p1"
    assert event["tags"]["request_id"] == "crash-request-0001"
    assert event["request"]["url"].endswith("/test/crash")
    assert set(event["request"]["headers"]) <= {"user-agent", "content-type", "x-request-id"}
    assert bug["tags"]["room"] == "projects/p1/flows/crash1"
    assert bug["tags"]["event"] == "room_commit_bug"
    # Only the crashes (and the failing room's own error events): not the 404, the expected
    # errors, nor the refused tokens.
    for other in collector.events:
        crashed = "deliberate crash" in _message(other)
        assert crashed or other["tags"].get("room") == "projects/p1/flows/crash1", other
    everything = b"".join(collector.raw)
    assert TOKEN.encode() not in everything  # neither the query string nor the header
    assert b"alice" in everything  # the user id is the one personal datum sent


def test_error_reporting_before_send_drops_expected_errors() -> None:
    for error in (DocumentNotFound("x"), Unauthenticated(), ClientDisconnect()):
        assert before_send({"level": "error"}, {"exc_info": (type(error), error, None)}) is None
    kept = RuntimeError("bug")
    event = before_send(
        {"level": "error", "request": {"url": "http://h/p?token=t", "headers": {"Cookie": "c"}}},
        {"exc_info": (RuntimeError, kept, None)},
    )
    assert event is not None
    assert event["request"] == {"method": None, "url": "http://h/p", "headers": {}}
