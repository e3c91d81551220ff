"""The websocket sync endpoint: Starlette's WebSocket turned into frames for a room.

URL scheme (DESIGN.md §4): /sync/projects/{project_id}/tree and
/sync/projects/{project_id}/{flows|pages}/{doc_id}, with ?token=... (or Authorization: Bearer)
and the opt-in ?ext=ack. Nothing below this module knows about Starlette.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from crdt.schema import DocKey, DocKind
from server import metrics
from server.auth import Authenticator, AuthError, Handshake
from server.close_codes import CloseCode, close_reason
from server.connection import Connection, ConnectionLimits
from server.request_context import bind_identity
from server.room import RoomUnavailable
from server.rooms import DocumentNotFound, RoomManager
from server.sessions import SessionRegistry

log = structlog.get_logger(__name__)

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class FrameLimits:
    max_frame_bytes: int


class SyncEndpoint:
    def __init__(
        self,
        manager: RoomManager,
        authenticator: Authenticator,
        connection_limits: ConnectionLimits,
        frame_limits: FrameLimits,
        sessions: SessionRegistry | None = None,
    ) -> None:
        self._manager = manager
        self._authenticator = authenticator
        self._sessions = sessions or SessionRegistry()
        self._connection_limits = connection_limits
        self._max_frame = frame_limits.max_frame_bytes

    async def handle(self, websocket: WebSocket) -> None:
        await websocket.accept()
        key = _doc_key(websocket)
        if key is None:
            await websocket.close(CloseCode.NOT_FOUND, "no such document")
            return
        bind_identity(project_id=key.project_id, room=key.name)  # every later log line
        started = time.monotonic()  # a revocation after this may have missed our role read
        try:
            principal = await self._authenticator.authenticate(_handshake(websocket, key))
        except AuthError as exc:
            await websocket.close(exc.code, close_reason(exc.reason))
            return
        bind_identity(user_id=principal.user_id)

        async def close(code: int, reason: str) -> None:
            await websocket.close(code, reason)

        conn = Connection(
            self._manager.next_connection_id(),
            principal,
            websocket.send_bytes,
            close,
            self._connection_limits,
            wants_ack="ack" in _extensions(websocket),
            closed_errors=(OSError, WebSocketDisconnect, WebSocketDisconnected),
        )
        writer = asyncio.get_running_loop().create_task(conn.run_writer())
        bound = log.bind(room=key.name, conn=conn.id, user_id=principal.user_id)
        metrics.CONNECTIONS.inc()
        metrics.CONNECTIONS_OPENED.inc()
        try:
            # Per-user connection limit, token expiry timer, revocation (server/sessions.py).
            with self._sessions.session(conn, key.project_id, authenticated_since=started):
                if not conn.closing:
                    await self._serve(websocket, key, conn, bound)
        except Exception:
            # A bug of ours: this one connection ends with 1011; the room and the others go on.
            bound.exception("connection_failed")
            conn.close(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            if not conn.closing:
                conn.close(CloseCode.NORMAL)
            metrics.CONNECTIONS.dec()
            await writer

    async def _serve(
        self, websocket: WebSocket, key: DocKey, conn: Connection, bound: structlog.BoundLogger
    ) -> None:
        try:
            room = await self._manager.open(key, conn)
        except DocumentNotFound:
            conn.close(CloseCode.NOT_FOUND, "no such document")
            return
        except RoomUnavailable:
            conn.close(CloseCode.TRY_AGAIN_LATER, "document storage unavailable")
            return
        loop = asyncio.get_running_loop()

        # Soon, not now: a close can happen while the room iterates its connections.
        def detach_soon(closed: Connection) -> None:
            loop.call_soon(room.detach, closed)

        conn.on_close = detach_soon
        bound.debug("connection_joined")
        max_frame = self._max_frame
        try:
            while not conn.closing:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is None:
                    conn.close(CloseCode.MALFORMED, "text frames are not part of the protocol")
                    break
                metrics.count_frame_in(data)
                if len(data) > max_frame:
                    conn.close(CloseCode.TOO_LARGE, f"frame over {max_frame} bytes")
                    break
                if not _within_rate(conn, data):
                    conn.close(CloseCode.RATE_LIMITED, "rate limit exceeded")
                    break
                room.receive(conn, data)
        finally:
            room.detach(conn)
            if conn.close_code is not None and conn.close_code >= 4000:
                bound.info("connection_refused", code=conn.close_code, reason=conn.close_message)
            elif conn.slow_consumer:
                bound.warning("slow_consumer_closed")


def _within_rate(conn: Connection, frame: bytes) -> bool:
    if not frame:
        return True  # empty frames are refused by the decoder with 4400
    if frame[0] == 0 and len(frame) > 1 and frame[1] != 0:
        return conn.update_bucket.take() and conn.bytes_bucket.take(len(frame))
    if frame[0] == 1:
        return conn.awareness_bucket.take()
    return conn.bytes_bucket.take(len(frame))


def valid_id(value: str) -> bool:
    """Project and document ids: 1-64 of A-Z a-z 0-9 _ - (UUIDs fit)."""
    return _ID.match(value) is not None


def _doc_key(websocket: WebSocket) -> DocKey | None:
    params = websocket.path_params
    project_id = params.get("project_id", "")
    if not valid_id(project_id):
        return None
    kind = params.get("kind")
    if kind is None:
        return DocKey(project_id, DocKind.TREE)
    doc_id = params.get("doc_id", "")
    if kind not in (DocKind.FLOW.value, DocKind.PAGE.value) or not valid_id(doc_id):
        return None
    return DocKey(project_id, DocKind(kind), doc_id)


def _handshake(websocket: WebSocket, key: DocKey) -> Handshake:
    token = websocket.query_params.get("token")
    authorization = websocket.headers.get("authorization", "")
    if token is None and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip() or None
    client = websocket.client
    return Handshake(
        project_id=key.project_id,
        token=token,
        headers=websocket.headers,
        client_host=None if client is None else client.host,
    )


def _extensions(websocket: WebSocket) -> set[str]:
    raw = websocket.query_params.get("ext", "")
    return {part.strip() for part in raw.split(",") if part.strip()}
