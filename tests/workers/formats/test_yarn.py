from __future__ import annotations

from collections.abc import Iterator

import tree_sitter_yarn_spinner
from tree_sitter import Language, Node, Parser

from crdt.views import json_to_flow, update_node_data
from tests.workers.formats.samples import (
    assign,
    dialogue,
    exit_,
    node,
    rule,
    sample_docs,
    sample_project,
    when,
    wire,
)
from workers.formats.project import read_project
from workers.formats.yarn import export_yarn, yarn_text

PARSER = Parser(Language(tree_sitter_yarn_spinner.language()))


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def parse(text: str) -> Node:
    root = PARSER.parse(text.encode()).root_node
    bad = [n for n in _walk(root) if n.type == "ERROR" or n.is_missing]
    assert bad == [], [text.encode()[n.start_byte : n.end_byte] for n in bad]
    return root


def of_type(root: Node, kind: str) -> list[str]:
    return [(n.text or b"").decode() for n in _walk(root) if n.type == kind]


def dedented(text: str) -> str:
    # tree-sitter-yarn-spinner 0.0.7's scanner never emits INDENT, so it cannot parse an
    # option's indented body (verified with hand-written Yarn). Dedenting keeps every
    # statement's own syntax under test; the nesting itself is checked by the content tests.
    return "\n".join(line.lstrip() for line in text.splitlines()) + "\n"


def test_yarn_export_parses_without_errors() -> None:
    root = parse(dedented(export_yarn(sample_project()).text))

    titles = [n.child_by_field_name("title") for n in _walk(root) if n.type == "title_header"]
    assert [(t.text or b"").decode().strip() for t in titles if t] == [
        "loc_tavern",
        "loc_tavern_bar",
        "side",
    ]
    assert len(of_type(root, "shortcut_option")) == 7
    assert any("jump loc_tavern_bar" in s for s in of_type(root, "jump_statement"))
    assert any("detour side" in s for s in of_type(root, "jump_statement"))
    assert any("$mc_jaime_health + 5" in s for s in of_type(root, "set_statement"))
    assert of_type(root, "declare_statement")[0] == "<<declare $mc_jaime_health = 10>>\n"
    assert of_type(root, "return_statement")


def test_yarn_export_without_options_parses_as_written() -> None:
    linear = {
        "meta": {"name": "Linear"},
        "nodes": {
            "e": node("entry", {}),
            "d": node("dialogue", dialogue("<p>Hello</p><p>again</p>", None, loc="dialogue_d")),
            "i": node("instruction", {"assignments": [assign("health", "set", 3)]}),
            "c": node(
                "condition",
                {"condition": when(rule("health", "less_than", 5)), "switchMode": False},
            ),
            "x": node("exit", exit_()),
        },
        "connections": wire(
            ("e", "output", "d"), ("d", "output", "i"), ("i", "output", "c"), ("c", "true", "x")
        ),
    }
    text = export_yarn(read_project(None, {"f": json_to_flow(linear)})).text

    root = parse(text)
    assert of_type(root, "if_statement")
    assert "<<set $mc_jaime_health to 3>>" in text


def test_yarn_export_content() -> None:
    text = export_yarn(sample_project()).text

    assert "Innkeeper: Welcome, traveler! #line:dialogue_d1\n" in text
    assert "-> Tell me a story <<if ($mc_jaime_met == true)>>\n" in text
    assert '    <<set $storyarn_exit to "x3">>\n    <<return>>\n' in text
    assert "<<elseif $mc_jaime_met == true>>" in text
    assert "// WARNING: flow The Tavern: node d1: condition not exported" in text


def test_yarn_text_escapes_what_yarn_would_read_as_syntax() -> None:
    escaped = yarn_text("a #b <<c>> {d} // e: f")

    parse(f"title: T\n---\n{escaped}\n===\n")
    assert "#" not in escaped.replace('{"#"}', "")
    assert escaped.count('{":"}') == 1


def test_yarn_export_stops_where_a_detoured_flow_ends() -> None:
    tree, flows, pages = sample_docs()
    update_node_data(flows["f_side"], "x3", exitMode="terminal")

    text = export_yarn(read_project(tree, flows, pages)).text
    side = text[text.index("title: side") :]

    assert "-> Happy end\n    <<stop>>\n" in side
    assert "<<stop>>" not in text[: text.index("title: side")]
