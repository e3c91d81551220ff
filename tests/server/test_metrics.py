"""GET /metrics of a real server: what the hot paths count, and the sum over --workers N."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import set_node
from tests.support.live_server import TEST_SECRET, free_port, live_server
from tests.support.processes import ServerProcess, database
from tests.support.yclient import yclient

REDIS_URL = "redis://127.0.0.1:6379/0"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when absent: a labelled series not touched yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def scrape(base_url: str) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{base_url}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_metrics_count_connections_frames_commits_and_routes() -> None:
    async with live_server() as server:
        before = await scrape(server.base_url)
        async with yclient(server.ws_url("projects/p1/flows/f1", ext="ack")) as client:
            set_node(client.doc, "n1", type="dialogue")
            await client.flush_acked()
            during = await scrape(server.base_url)
        async with httpx.AsyncClient() as http:
            listed = await http.get(
                f"{server.base_url}/api/v1/projects/p1/flows/f1/versions",
                headers={"Authorization": "Bearer alice"},
            )
            assert listed.status_code == 200
            await http.get(f"{server.base_url}/no/such/page")
        after = await scrape(server.base_url)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert sample(during, "storyarn_connections") >= 1
    assert sample(during, "storyarn_rooms_open") >= 1
    assert delta("storyarn_connections_opened_total") >= 1
    assert delta("storyarn_frames_received_total", type="update") >= 1
    assert delta("storyarn_frames_received_total", type="sync_step1") >= 1
    assert delta("storyarn_received_bytes_total") > 0
    assert delta("storyarn_frames_sent_total") >= 2  # step 1 and the ack, at least
    assert delta("storyarn_sent_bytes_total") > 0
    assert delta("storyarn_updates_committed_total") >= 1
    assert delta("storyarn_commit_seconds_count") >= 1
    assert delta("storyarn_websocket_closes_total", code="1000") >= 1
    # HTTP latency by route template: one series per route, never one per document.
    route = "/api/v1/projects/{project_id}/{kind}/{doc_id}/versions"
    assert delta("storyarn_http_request_seconds_count", route=route, method="GET", status="200")
    assert "flows/f1" not in after
    assert "no/such/page" not in after
    assert sample(after, "storyarn_resident_memory_bytes") > 0


async def test_metrics_count_refusals_by_close_code() -> None:
    async with live_server() as server:
        before = await scrape(server.base_url)
        # A stock client stops on 44xx; ours just reads the close code.
        async with yclient(f"{server.ws_base}/projects/p1/nonsense/x", sync=False) as client:
            assert await client.wait_closed() == 4404
        async with yclient(server.ws_url("projects/p1/flows/f1"), sync=False) as client:
            await client.send_raw(b"\xff\xff")
            assert await client.wait_closed() == 4400
        after = await scrape(server.base_url)
    for code in ("4404", "4400"):
        name = "storyarn_websocket_closes_total"
        assert sample(after, name, code=code) - sample(before, name, code=code) >= 1


async def test_metrics_add_up_over_every_worker_process(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    async with database("postgres", tmp_path) as url:
        env = {
            "STORYARN_ENV": "development",
            "STORYARN_SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "STORYARN_REDIS_PREFIX": prefix,
            "STORYARN_LOG_LEVEL": "warning",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        port = free_port()
        server = ServerProcess(env, port, extra_args=["--workers", "2"])
        await server.start()
        try:
            base = f"http://127.0.0.1:{port}"
            async with contextlib.AsyncExitStack() as stack:
                for i in range(6):
                    url_i = f"ws://127.0.0.1:{port}/sync/projects/p1/flows/f{i % 2}?token=u{i}"
                    await stack.enter_async_context(yclient(url_i))
                # Both workers must be up before every scrape can show both.
                async with asyncio.timeout(20):
                    while sample(await scrape(base), "storyarn_processes") < 2:
                        await asyncio.sleep(0.1)
                # Each scrape is a new connection, which the kernel hands to either worker:
                # whichever answers reports every process's connections.
                for _ in range(6):
                    text = await scrape(base)
                    assert sample(text, "storyarn_connections") == 6
                    assert sample(text, "storyarn_processes") == 2
        finally:
            await server.stop()


async def test_metrics_endpoint_is_plain_prometheus_text() -> None:
    async with live_server() as server:
        text = await scrape(server.base_url)
    names = {family.name for family in text_string_to_metric_families(text)}
    expected = {
        "storyarn_rooms_open",
        "storyarn_connections",
        "storyarn_commit_seconds",
        "storyarn_send_queue_frames_max",
        "storyarn_slow_consumer_disconnects",
        "storyarn_redis_publish_failures",
        "storyarn_redis_delivery_seconds",
        "storyarn_http_request_seconds",
        "storyarn_db_pool_checked_out",
    }
    assert expected <= names
