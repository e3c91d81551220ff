"""Every Prometheus metric of the server, in one place (served at GET /metrics).

Hot paths only increment counters that are bound here once (no label look-up per message), and
no label carries an id, a room name or anything else without a small fixed set of values.

`storyarn serve --workers N` runs N processes: the supervisor points PROMETHEUS_MULTIPROC_DIR at
a folder before they start, each process writes its values there, and whichever process answers
/metrics adds them all up (`render`). Gauges say how: `livesum` adds the live processes' values,
`livemax` takes the largest. A single process without that variable keeps its values in memory.
"""

from __future__ import annotations

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):
    # Every metric below opens its file there as it is created: a missing folder would stop
    # the start with a bare FileNotFoundError.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

# -- websockets and rooms ----------------------------------------------------------------------

ROOMS_OPEN = Gauge(
    "storyarn_rooms_open", "Documents loaded in memory.", multiprocess_mode="livesum"
)
CONNECTIONS = Gauge(
    "storyarn_connections", "Open websocket connections.", multiprocess_mode="livesum"
)
CONNECTIONS_OPENED = Counter(
    "storyarn_connections_opened", "Websocket connections accepted and authenticated."
)
_FRAMES_IN = Counter(
    "storyarn_frames_received", "Frames received from clients, by message type.", ["type"]
)
FRAMES_IN_UPDATE = _FRAMES_IN.labels("update")  # sync step 2 or update: changes the Doc
FRAMES_IN_AWARENESS = _FRAMES_IN.labels("awareness")
FRAMES_IN_SYNC = _FRAMES_IN.labels("sync_step1")
FRAMES_IN_OTHER = _FRAMES_IN.labels("other")
BYTES_IN = Counter("storyarn_received_bytes", "Bytes of frames received from clients.")
FRAMES_OUT = Counter("storyarn_frames_sent", "Frames written to clients.")
BYTES_OUT = Counter("storyarn_sent_bytes", "Bytes of frames written to clients.")
CLOSES = Counter(
    "storyarn_websocket_closes",
    "Websockets the server closed, by close code (4xxx: refused; 1011: our bug; "
    "1013: overloaded, slow consumer or storage down).",
    ["code"],
)
SLOW_CONSUMERS = Counter(
    "storyarn_slow_consumer_disconnects", "Clients closed because their send queue was full."
)
SEND_QUEUE_FRAMES = Gauge(
    "storyarn_send_queue_frames",
    "Frames waiting in every connection's send queue (sampled).",
    multiprocess_mode="livesum",
)
SEND_QUEUE_FRAMES_MAX = Gauge(
    "storyarn_send_queue_frames_max",
    "The longest connection send queue, in frames (sampled).",
    multiprocess_mode="livemax",
)

# -- the update path -----------------------------------------------------------------------------

UPDATES_COMMITTED = Counter("storyarn_updates_committed", "Updates appended to the document log.")
COMMITS = Counter("storyarn_commits", "Group commits that succeeded.")
COMMIT_FAILURES = Counter(
    "storyarn_commit_failures", "Group commits that failed (they are retried)."
)
COMMIT_SECONDS = Histogram(
    "storyarn_commit_seconds",
    "Time to commit one room's batch of updates to the database.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ROOMS_FAILING = Gauge(
    "storyarn_rooms_failing_commits",
    "Rooms whose last commit failed and that are retrying (sampled).",
    multiprocess_mode="livesum",
)

# -- Redis fan-out -------------------------------------------------------------------------------

REDIS_PUBLISH_FAILURES = Counter(
    "storyarn_redis_publish_failures", "Batches the fan-out failed to publish (retried)."
)
REDIS_READ_FAILURES = Counter("storyarn_redis_read_failures", "Failed reads of room streams.")
REDIS_DELIVERY_SECONDS = Histogram(
    "storyarn_redis_delivery_seconds",
    "Age of another instance's update when this one reads it from its Redis stream.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REDIS_BACKLOG = Gauge(
    "storyarn_redis_publish_backlog",
    "Committed batches waiting to be published to Redis (sampled).",
    multiprocess_mode="livesum",
)
REDIS_UP = Gauge(
    "storyarn_redis_healthy",
    "1 while the fan-out reads and publishes, 0 during a Redis outage (sampled).",
    multiprocess_mode="livemin",
)

# -- relational projections (server/projector.py) -------------------------------------------------

PROJECTIONS = Counter("storyarn_projections", "Document projections written to the tables.")
PROJECTION_FAILURES = Counter(
    "storyarn_projection_failures", "Document projections that failed (they are retried)."
)
PROJECTION_SECONDS = Histogram(
    "storyarn_projection_seconds",
    "Time to project one document: load, compute and write its rows.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PROJECTION_LAG_SECONDS = Histogram(
    "storyarn_projection_lag_seconds",
    "From a document's first unprojected commit to its projection being written.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
PROJECTIONS_PENDING = Gauge(
    "storyarn_projections_pending",
    "Documents waiting to be projected.",
    multiprocess_mode="livesum",
)

# -- HTTP, database, process ---------------------------------------------------------------------

HTTP_SECONDS = Histogram(
    "storyarn_http_request_seconds",
    "HTTP request latency by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_POOL_SIZE = Gauge(
    "storyarn_db_pool_size", "Database connections the pool keeps.", multiprocess_mode="livesum"
)
DB_POOL_CHECKED_OUT = Gauge(
    "storyarn_db_pool_checked_out",
    "Database connections in use (sampled).",
    multiprocess_mode="livesum",
)
RESIDENT_BYTES = Gauge(
    "storyarn_resident_memory_bytes",
    "Resident memory of the server processes (sampled).",
    multiprocess_mode="livesum",
)
PROCESSES = Gauge(
    "storyarn_processes", "Server processes serving requests.", multiprocess_mode="livesum"
)


def count_frame_in(frame: bytes) -> None:
    """Classify one client frame the way the rate limits do; two increments."""
    BYTES_IN.inc(len(frame))
    if not frame:
        FRAMES_IN_OTHER.inc()
    elif frame[0] == 0:
        (FRAMES_IN_SYNC if len(frame) > 1 and frame[1] == 0 else FRAMES_IN_UPDATE).inc()
    elif frame[0] == 1:
        FRAMES_IN_AWARENESS.inc()
    else:
        FRAMES_IN_OTHER.inc()


def render() -> bytes:
    """The exposition text: every process's values under --workers, this one's otherwise."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# -- the event loop ----------------------------------------------------------------------------

LOOP_LAG_SECONDS = Histogram(
    "storyarn_event_loop_lag_seconds",
    "How late the event loop ran a timer: time every other room and request waited.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
LOOP_LAG_MAX_SECONDS = Gauge(
    "storyarn_event_loop_lag_max_seconds",
    "Longest event-loop stall since the previous sample.",
    multiprocess_mode="max",
)
