from __future__ import annotations

import pytest

from crdt.views import json_to_flow
from tests.workers.formats.inkjs import play
from tests.workers.formats.samples import (
    SIDE,
    TAVERN,
    TRICKY,
    assign,
    dialogue,
    exit_,
    node,
    rule,
    sample_project,
    when,
    wire,
)
from workers.formats.ink import export_ink
from workers.formats.project import read_project

WELCOME = ["Innkeeper: Welcome, traveler!", "What'll it be?"]


@pytest.mark.parametrize(
    ("picks", "lines"),
    [
        pytest.param(
            [0, 0, 0, 1],
            [*WELCOME, "Jaime: Cheers!", "Jaime: Once upon a time", "Jaime: Cheers!"],
            id="hub-jump-subflow-return",
        ),
        pytest.param(
            [0, 0, 1],
            [*WELCOME, "Jaime: Cheers!", "Jaime: Once upon a time", "Jaime: Oh no."],
            id="subflow-exit-pin",
        ),
        pytest.param([1], [*WELCOME, f"Innkeeper: {TRICKY}"], id="switch-default-escaping"),
    ],
)
def test_ink_export_compiles_and_plays_the_path(picks: list[int], lines: list[str]) -> None:
    exported = export_ink(sample_project())

    result = play(exported.text, *picks)

    assert result["errors"] == []
    assert result["lines"] == lines
    assert result["ended"] is True


def test_ink_export_choices_follow_conditions_and_instructions() -> None:
    result = play(export_ink(sample_project()).text, 0, 0)

    # "Check the calendar" compares a date: not expressible, so never offered.
    assert result["choices"][0] == ["Ale please", "Goodbye"]
    # "Tell me a story" needs `met`, which choosing the ale set.
    assert result["choices"][1] == ["Tell me a story", "Leave"]
    assert result["choices"][2] == ["Happy end", "Sad end"]
    assert "id:dialogue_d1" in result["tags"]


def test_ink_export_declares_variables_from_pages() -> None:
    text = export_ink(sample_project()).text

    assert "VAR mc_jaime_health = 10" in text
    assert "VAR mc_jaime_met = false" in text
    assert 'VAR mc_jaime_nickname = "Stranger"' in text
    assert "VAR mc_jaime_birthday" not in text  # a date: ink has no such values


def test_ink_export_warns_about_what_it_cannot_express() -> None:
    exported = export_ink(sample_project())

    assert any("birthday" in w and "d1" in w for w in exported.warnings)
    assert "// WARNING:" in exported.text


def test_ink_export_knot_names_are_safe_and_distinct() -> None:
    same = {**TAVERN, "meta": {"name": "Tavern"}}
    project = read_project(
        None,
        {"f1": json_to_flow(same), "f2": json_to_flow(same), "f3": json_to_flow(SIDE)},
    )

    exported = export_ink(project)

    assert "=== Tavern ===" in exported.text
    assert "=== Tavern_2 ===" in exported.text
    assert play(exported.text)["errors"] == []


def test_ink_export_exit_to_another_flow_and_unexpressible_assignment() -> None:
    first = {
        "meta": {"name": "First", "isMain": True},
        "nodes": {
            "e": node("entry", {}),
            "i": node(
                "instruction",
                {"assignments": [assign("health", "set_if_unset", 1), assign("health", "set", 2)]},
            ),
            "x": node("exit", exit_("flow_reference", flow="f2")),
        },
        "connections": wire(("e", "output", "i"), ("i", "output", "x")),
    }
    second = {
        "meta": {"name": "Second"},
        "nodes": {
            "e": node("entry", {}),
            "c": node("condition", {"condition": when(rule("health", "equals", 2))}),
            "yes": node("dialogue", dialogue("<p>Two</p>", None, loc="dialogue_yes")),
            "no": node("dialogue", dialogue("<p>Not two</p>", None, loc="dialogue_no")),
        },
        "connections": wire(("e", "output", "c"), ("c", "true", "yes"), ("c", "false", "no")),
    }
    project = read_project(None, {"f1": json_to_flow(first), "f2": json_to_flow(second)})

    exported = export_ink(project)
    result = play(exported.text)

    assert result["errors"] == []
    assert result["lines"] == ["Two"]
    assert result["ended"] is True
    assert any("set_if_unset" in w for w in exported.warnings)
    assert "// Not exported: operator 'set_if_unset'" in exported.text
