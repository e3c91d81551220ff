from __future__ import annotations

from crdt.views import json_to_flow
from tests.workers.formats.samples import TAVERN, dialogue, node, sample_project, wire
from workers.formats.project import read_project
from workers.formats.validation import Severity, validate_project


def test_validation_passes_the_sample_but_lists_untranslated_texts() -> None:
    report = validate_project(sample_project())

    assert [i for i in report.issues if i.severity is Severity.ERROR] == []
    assert report.status == "warnings"
    untranslated = {u.key for u in report.untranslated["es"]}
    assert "flow_node.dialogue_d2.text" in untranslated
    assert "flow_node.dialogue_d1.text" not in untranslated  # translated in the sample


def test_validation_reports_broken_graphs() -> None:
    nodes = {
        **TAVERN["nodes"],
        "lost": node("dialogue", dialogue("", None, loc="dialogue_lost")),
        "j9": node("jump", {"targetHubId": "nowhere"}),
    }
    connections = {
        **TAVERN["connections"],
        **{
            f"x{k}": c for k, c in wire(("d4", "output", "ghost"), ("lost", "output", "j9")).items()
        },
    }
    flow = json_to_flow({**TAVERN, "nodes": nodes, "connections": connections})

    report = validate_project(read_project(None, {"f": flow}), locales=["fr"])
    found = {(i.code, i.node_id or i.connection_id) for i in report.issues}

    assert report.status == "errors"
    assert ("dangling_connection", "xc0") in found
    assert ("unreachable_node", "lost") in found
    assert ("missing_speaker", "lost") in found
    assert ("empty_dialogue", "lost") in found
    assert ("broken_jump", "j9") in found
    assert ("broken_flow_reference", "s1") in found  # the side flow is not in this project
    assert ("unknown_speaker", "d1") in found  # no tree: the innkeeper is unknown
    assert report.to_json()["status"] == "errors"
    assert report.untranslated["fr"]
