"""docs/monitoring/ refers only to metrics the server exports, under their exported names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

from server import metrics
from workers import metrics as job_metrics

MONITORING = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def _exported() -> set[str]:
    assert metrics.ROOMS_OPEN  # the modules' metrics are registered on import
    assert job_metrics.JOBS
    return {
        sample.name
        for family in REGISTRY.collect()
        if family.name.startswith("storyarn_")
        for sample in family.samples
    } | {family.name for family in REGISTRY.collect() if family.name.startswith("storyarn_")}


def _referenced(text: str) -> set[str]:
    return set(re.findall(r"storyarn_[a-z_]+", text))


def test_monitoring_files_refer_to_exported_metrics() -> None:
    exported = _exported()
    names = {name + suffix for name in exported for suffix in ("", *_SUFFIXES)}
    for file in ("alerts.yml", "grafana-dashboard.json"):
        unknown = _referenced((MONITORING / file).read_text()) - names
        assert not unknown, f"{file} refers to {sorted(unknown)}"


def test_monitoring_dashboard_and_alerts_cover_the_issue() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    rows = {panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"}
    assert {"Overview", "Websockets", "Database", "Redis fan-out"} <= rows
    alerts = set(re.findall(r"alert: (\w+)", (MONITORING / "alerts.yml").read_text()))
    assert {
        "StoryarnHighErrorRate",
        "StoryarnHttpLatencyP95",
        "StoryarnCommitFailures",
        "StoryarnRedisLag",
        "StoryarnDiskFilling",
    } <= alerts
