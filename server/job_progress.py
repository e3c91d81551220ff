"""Job progress pushed to a project's connected clients as awareness on its tree room.

The server announces one awareness state under a reserved client id (`JOBS_CLIENT_ID`) in
`projects/{id}/tree`: `{"storyarnJobs": [{id, kind, format, status, percent, error}, ...]}`,
the project's most recent jobs. Stock y-websocket clients handle it like any peer's state, so
nothing new travels on the wire (docs/api.md#job-progress). Only rooms loaded on this instance
are told; a client that joins later receives the state with the room's awareness snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from crdt import messages
from crdt.awareness import AwarenessEntry, encode_update
from crdt.schema import DocKey, DocKind
from persistence.jobs import Job
from server.rooms import RoomManager
from workers.job_events import job_summary

log = structlog.get_logger(__name__)
JOBS_CLIENT_ID = 0x7FFF_FFFE  # reserved: a Yjs client draws its id at random from 2**32
STATE_KEY = "storyarnJobs"
_INSTANCE = "storyarn-jobs"  # the owner the room records the state under
_KEEP = 10  # jobs listed per project


class JobProgress:
    def __init__(self, rooms: RoomManager) -> None:
        self._rooms = rooms
        self._recent: dict[str, OrderedDict[str, dict[str, Any]]] = {}

    def push(self, summary: dict[str, Any]) -> None:
        project_id = str(summary["project_id"])
        recent = self._recent.setdefault(project_id, OrderedDict())
        recent[str(summary["id"])] = summary
        recent.move_to_end(str(summary["id"]))
        while len(recent) > _KEEP:
            recent.popitem(last=False)
        room = self._rooms.get(DocKey(project_id, DocKind.TREE))
        if room is None:
            return
        state = json.dumps({STATE_KEY: list(recent.values())})
        # Milliseconds as the clock: newer than any state this id announced before, on any
        # instance, so every peer accepts it (y-protocols keeps the higher clock).
        entry = AwarenessEntry(JOBS_CLIENT_ID, int(time.time() * 1000), state)
        room.remote_awareness(_INSTANCE, messages.encode_awareness(encode_update([entry])))

    async def job_changed(self, job: Job) -> None:
        """The embedded runtime's listener."""
        self.push(job_summary(job))


@contextlib.asynccontextmanager
async def listening(progress: JobProgress, url: str, channel: str) -> AsyncIterator[None]:
    """Relay the job events `storyarn worker` processes publish, while the server runs."""
    redis: Redis = Redis.from_url(url)

    async def listen() -> None:
        while True:
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            progress.push(json.loads(message["data"]))
            except (RedisError, OSError, ValueError) as exc:
                log.warning("job_events_unavailable", error=str(exc))
                await asyncio.sleep(1.0)

    task = asyncio.get_running_loop().create_task(listen())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await redis.aclose()
