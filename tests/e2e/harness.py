"""Drive the Node clients in tests/e2e/js from pytest, and read documents the way they do.

- `run_script(name, *args)` runs one scenario script to completion and returns the JSON line it
  printed; a non-zero exit or a timeout fails the test with the script's stderr.
- `open_agent(server)` starts `js/agent.mjs`, a client process answering one JSON request per
  line, for scenarios in which the test acts in between (SIGKILL, server-side edits).
- `doc_json(doc, kind)` is the canonical JSON view of a pycrdt Doc that `client.mjs` `docJSON`
  computes for a Y.Doc, so both sides compare with `==`.
- `WebsocketsChannel` adapts a `websockets` client connection to pycrdt's `Channel` protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from crdt.schema import SCHEMAS, DocKey, DocKind, RootShape
from tests.support.live_server import LiveServer

E2E_DIR = Path(__file__).resolve().parent
JS_DIR = E2E_DIR / "js"
NODE_MODULES = E2E_DIR / "node_modules"
JS_PACKAGES = ("yjs", "y-websocket", "y-protocols", "ws", "lib0")
_STREAM_LIMIT = 64 * 1024 * 1024  # agent answers can carry a few MB of document JSON


def node_setup_problem() -> str | None:
    """Why the Node clients cannot run here, or None when they can."""
    if shutil.which("node") is None:
        return "node is not on PATH: the e2e tests drive Node.js (>= 20) clients"
    missing = [name for name in JS_PACKAGES if not (NODE_MODULES / name).is_dir()]
    if missing:
        return (
            f"{NODE_MODULES} lacks {', '.join(missing)}: "
            "run `npm ci --prefix tests/e2e` before the e2e tests"
        )
    return None


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:12]


def flow_key(project: str | None = None, doc_id: str | None = None) -> DocKey:
    return DocKey(project or new_id("p"), DocKind.FLOW, doc_id or new_id("f"))


def page_key(project: str | None = None, doc_id: str | None = None) -> DocKey:
    return DocKey(project or new_id("p"), DocKind.PAGE, doc_id or new_id("g"))


# -- canonical JSON ----------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    if isinstance(value, XmlFragment | XmlElement | XmlText):
        return str(value)
    if isinstance(value, Text):
        return str(value)
    if isinstance(value, Array):
        return [to_plain(item) for item in value]
    if isinstance(value, Map):
        return {key: to_plain(value[key]) for key in sorted(value.keys())}
    return value


def doc_json(doc: Doc[Any], kind: DocKind) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, shape in SCHEMAS[kind].roots.items():
        root = doc.get(name, type=Map if shape is RootShape.MAP else Array)
        out[name] = to_plain(root)
    return out


def server_doc(server: LiveServer, key: DocKey) -> Doc[Any]:
    room = server.services.rooms.get(key)
    assert room is not None, f"room {key.name} is not loaded on the server"
    assert room.protocol is not None, f"room {key.name} has no protocol"
    return room.protocol.doc


def server_json(server: LiveServer, key: DocKey) -> dict[str, Any]:
    return doc_json(server_doc(server, key), key.kind)


async def eventually(check: Any, *, timeout: float = 5.0, what: str = "a condition") -> None:
    """Poll a synchronous `check()` every 10 ms until truthy; fail after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


# -- scenario scripts --------------------------------------------------------------------------


async def run_script(script: str, *args: str, timeout: float = 25.0) -> Any:
    """Run `node js/<script> args...`; return the JSON of the last line it printed."""
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS_DIR / script),
        *args,
        cwd=E2E_DIR,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            stdout, stderr = await proc.communicate()
    except TimeoutError:
        proc.kill()
        stdout, stderr = await proc.communicate()
        raise AssertionError(
            f"{script} did not finish within {timeout} s\nstderr:\n{stderr.decode()[-4000:]}"
        ) from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise AssertionError(
            f"{script} exited with {proc.returncode}\nstderr:\n{stderr.decode()[-4000:]}"
            f"\nstdout:\n{stdout.decode()[-2000:]}"
        )
    lines = stdout.decode().strip().splitlines()
    assert lines, f"{script} printed nothing\nstderr:\n{stderr.decode()[-4000:]}"
    return json.loads(lines[-1])


# -- the agent ---------------------------------------------------------------------------------


class AgentError(AssertionError):
    """The agent answered a request with an error (a failed wait, a missing client...)."""


class NodeAgent:
    """One `node js/agent.mjs` process: `await agent.call(op, **args)` -> its result."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._stderr = bytearray()
        self._readers = [
            asyncio.get_running_loop().create_task(self._read_answers()),
            asyncio.get_running_loop().create_task(self._read_stderr()),
        ]

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def stderr(self) -> str:
        return self._stderr.decode(errors="replace")

    async def call(self, op: str, *, timeout: float = 10.0, **args: Any) -> Any:
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            stdin = self._proc.stdin
            assert stdin is not None
            stdin.write(json.dumps({"id": request_id, "op": op, "args": args}).encode() + b"\n")
            await stdin.drain()
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise AssertionError(
                f"agent: {op} got no answer within {timeout} s\nstderr:\n{self.stderr[-4000:]}"
            ) from None
        finally:
            self._pending.pop(request_id, None)

    def kill(self) -> None:
        """SIGKILL: no close frame, no awareness goodbye, nothing."""
        self._proc.kill()

    async def wait_exited(self, timeout: float = 5.0) -> int:
        async with asyncio.timeout(timeout):
            return await self._proc.wait()

    async def _read_answers(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        async for line in stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                continue  # a library printed to stdout: not an answer
            if not isinstance(answer, dict):
                continue
            future = self._pending.get(answer.get("id", -1))
            if future is None or future.done():
                continue
            if answer.get("ok"):
                future.set_result(answer.get("result"))
            else:
                future.set_exception(AgentError(f"agent: {answer.get('error')}"))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(
                    AgentError(f"agent exited before answering\nstderr:\n{self.stderr[-4000:]}")
                )

    async def _read_stderr(self) -> None:
        stderr = self._proc.stderr
        assert stderr is not None
        while chunk := await stderr.read(65536):
            self._stderr.extend(chunk)

    async def close(self) -> None:
        if self._proc.returncode is None and self._proc.stdin is not None:
            self._proc.stdin.close()  # the agent exits when its stdin ends
            try:
                await self.wait_exited(5.0)
            except TimeoutError:
                self._proc.kill()
        await self._proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)


@contextlib.asynccontextmanager
async def open_agent(server: LiveServer) -> AsyncIterator[NodeAgent]:
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS_DIR / "agent.mjs"),
        server.ws_base,
        cwd=E2E_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=_STREAM_LIMIT,
    )
    agent = NodeAgent(proc)
    try:
        yield agent
    finally:
        await agent.close()


# -- pycrdt's Channel over a `websockets` client -----------------------------------------------


class WebsocketsChannel:
    """pycrdt `Channel`: binary frames of a `websockets` connection; iteration ends on close."""

    def __init__(self, websocket: ClientConnection, path: str) -> None:
        self._websocket = websocket
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> WebsocketsChannel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except ConnectionClosed:
            raise StopAsyncIteration from None

    async def send(self, message: bytes) -> None:
        await self._websocket.send(message)

    async def recv(self) -> bytes:
        while True:
            message = await self._websocket.recv()
            if isinstance(message, bytes):
                return message
