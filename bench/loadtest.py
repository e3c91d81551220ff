"""Load test: stock y-websocket clients against a running deployment, for a bounded time.

    uv run python bench/loadtest.py --url http://127.0.0.1:8000 --clients 200 --rooms 20
    uv run python bench/loadtest.py --start --clients 100     # an embedded server of its own
    uv run python bench/loadtest.py --start --workers 2 ...   # DATABASE_URL, REDIS_URL set

It drives bench/loadtest.mjs (Node, the stock `WebsocketProvider`), samples the server's
/metrics every second (memory of every server process, commits, closes by code), and prints
throughput, latency percentiles, the error rate and the server's memory, then writes the whole
result to bench/results/loadtest-<time>.json. Only loopback or the deployment you name is
contacted; the Node process has a hard deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

BENCH = Path(__file__).resolve().parent


def metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def closes_by_code(text: str) -> dict[str, float]:
    codes: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "storyarn_websocket_closes_total":
                codes[sample.labels["code"]] = sample.value
    return codes


@contextlib.asynccontextmanager
async def started_server(workers: int) -> AsyncIterator[str]:
    """`storyarn serve` on a free port, in a temporary data folder, development mode."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tempfile.mkdtemp(prefix="storyarn-loadtest-")
    env = {
        **os.environ,
        "STORYARN_ENV": "development",
        "STORYARN_DATA_DIR": data,
        "STORYARN_LOG_LEVEL": "warning",
        # The load comes from one address and many users: rate limits per address are not
        # what is measured here.
        "STORYARN_CONNECT_RATE_PER_ADDRESS": "0",
        "STORYARN_API_RATE_PER_ADDRESS": "0",
    }
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    proc = await asyncio.create_subprocess_exec(*command, "--workers", str(workers), env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http, asyncio.timeout(60):
            while True:
                if proc.returncode is not None:
                    raise SystemExit(f"the server exited with {proc.returncode}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{url}/health")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)
        shutil.rmtree(data, ignore_errors=True)


async def sample_memory(url: str, peaks: list[float], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient() as http:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                text = (await http.get(f"{url}/metrics", timeout=5)).text
                peaks.append(metric_sum(text, "storyarn_resident_memory_bytes"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


async def load(url: str, args: argparse.Namespace) -> dict[str, Any]:
    ws = url.replace("http://", "ws://").replace("https://", "wss://") + "/sync"
    async with httpx.AsyncClient() as http:
        before = (await http.get(f"{url}/metrics")).text
    peaks: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.get_running_loop().create_task(sample_memory(url, peaks, stop))
    options = {
        "url": ws, "clients": args.clients, "rooms": args.rooms, "rate": args.rate,
        "warmup": args.warmup, "duration": args.duration, "token": args.token,
        "deadline": args.warmup + args.duration + 120,
    }  # fmt: skip
    argv = [f"--{k}={v}" for k, v in options.items() if v != ""]
    node = await asyncio.create_subprocess_exec(
        "node", str(BENCH / "loadtest.mjs"), *(p for a in argv for p in a.split("=", 1)),
        cwd=BENCH, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await node.communicate()
    stop.set()
    await sampler
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    result = next((line for line in lines if line.get("event") == "result"), None)
    if result is None:
        raise SystemExit(f"the load generator failed: {lines}")
    async with httpx.AsyncClient() as http:
        after = (await http.get(f"{url}/metrics")).text
    committed = metric_sum(after, "storyarn_updates_committed_total") - metric_sum(
        before, "storyarn_updates_committed_total"
    )
    closes_before, closes_after = closes_by_code(before), closes_by_code(after)
    closes = {c: v - closes_before.get(c, 0) for c, v in closes_after.items()}
    errors = result["failed_to_sync"] + result["disconnects"]
    lost = max(0, result["deliveries_expected"] - result["deliveries_received"])
    result.update(
        server_updates_committed=committed,
        server_closes_by_code={c: v for c, v in closes.items() if v},
        server_memory_bytes_start=metric_sum(before, "storyarn_resident_memory_bytes"),
        server_memory_bytes_peak=max(peaks, default=0.0),
        server_processes=metric_sum(after, "storyarn_processes"),
        deliveries_lost=lost,
        error_rate=(errors + lost) / max(1, result["clients"] + result["deliveries_expected"]),
    )
    return result


def report(result: dict[str, Any]) -> str:
    mib = 1024 * 1024
    lat = result["latency_ms"]
    return "\n".join(
        [
            f"clients {result['clients']} in {result['rooms']} rooms, "
            f"{result['rate_per_client']} edits/s each, {result['duration_s']} s measured",
            f"throughput: {result['updates_per_s']:.0f} edits/s in, "
            f"{result['deliveries_per_s']:.0f} deliveries/s out "
            f"({result['server_updates_committed']:.0f} updates committed by the server)",
            f"latency ms: p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  p99 {lat['p99']:.1f}  "
            f"max {lat['max']:.1f}",
            f"errors: {result['failed_to_sync']} never synced, {result['disconnects']} "
            f"disconnects, {result['deliveries_lost']} deliveries lost; "
            f"error rate {result['error_rate']:.4%}; closes {result['server_closes_by_code']}",
            f"server memory ({result['server_processes']:.0f} process(es)): "
            f"{result['server_memory_bytes_start'] / mib:.0f} MiB at start, "
            f"{result['server_memory_bytes_peak'] / mib:.0f} MiB peak",
        ]
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="the deployment's base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--start", action="store_true", help="start a server of our own")
    parser.add_argument("--workers", type=int, default=1, help="with --start")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="edits per second per client")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--token", default="", help="a JWT (production); else dev names")
    args = parser.parse_args()
    if not args.start and not args.url:
        parser.error("give --url or --start")
    async with contextlib.AsyncExitStack() as stack:
        url = (
            await stack.enter_async_context(started_server(args.workers))
            if args.start
            else args.url
        )
        result = await load(url, args)
    print(report(result))
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    path = results / f"loadtest-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {path.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    asyncio.run(main())
