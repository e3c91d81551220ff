"""`storyarn serve --workers N`: N single-process servers on one port, kept running.

Each worker binds the port itself with SO_REUSEPORT, so the kernel spreads new connections
over the workers by hash; one socket shared by all (uvicorn's own multi-worker mode) lets one
busy worker accept nearly everything. The workers share rooms through Redis (DESIGN.md §7).
The supervisor forwards SIGTERM/SIGINT, and restarts a worker that dies, with backoff.

Metrics: the workers write their values under PROMETHEUS_MULTIPROC_DIR (a fresh temporary
folder unless the operator set one) and any worker's /metrics adds them up (server/metrics.py).
A dead worker's gauges are dropped; its counters stay in the totals, as counters must.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import structlog
from prometheus_client import multiprocess

from server.metrics import MULTIPROC_ENV

log = structlog.get_logger(__name__)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def supervise(workers: int, host: str, port: int) -> int:
    command = [sys.executable, "-m", "server.cli", "serve", "--host", host, "--port", str(port)]
    command.append("--reuse-port")
    env, metrics_dir, owned = _metrics_env()
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    children = [subprocess.Popen(command, env=env) for _ in range(workers)]  # noqa: S603 - our own module, fixed arguments
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("workers_started", workers=workers, port=port)
    restarts = [0.0] * workers
    while True:
        if stopping:
            for child in children:
                try:
                    child.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    child.kill()
            log.info("workers_stopped")
            if owned:
                shutil.rmtree(metrics_dir, ignore_errors=True)
            return 0
        for index, child in enumerate(children):
            code = child.poll()
            if code is None or stopping:
                continue
            # A worker died under us: its clients reconnect to the others; bring it back.
            delay = 1.0 if time.monotonic() - restarts[index] < 10 else 0.0
            log.error("worker_died", worker=index, code=code, restart_in=delay)
            multiprocess.mark_process_dead(child.pid, str(metrics_dir))  # type: ignore[no-untyped-call]
            time.sleep(delay)
            restarts[index] = time.monotonic()
            children[index] = subprocess.Popen(command, env=env)  # noqa: S603 - as above
        time.sleep(0.2)


def _metrics_env() -> tuple[dict[str, str], Path, bool]:
    """The workers' environment, with the shared metrics folder; and whether we made it."""
    env = dict(os.environ)
    configured = env.get(MULTIPROC_ENV)
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):  # a previous run's values would be added in
            stale.unlink()
        return env, folder, False
    folder = Path(tempfile.mkdtemp(prefix="storyarn-metrics-"))
    env[MULTIPROC_ENV] = str(folder)
    return env, folder, True
