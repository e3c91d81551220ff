from __future__ import annotations

import json
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, XmlFragment

from crdt.views import ViewError
from crdt.views.flow import (
    add_node,
    add_response,
    connect,
    disconnect,
    flow_to_json,
    json_to_flow,
    move_node,
    read_flow,
    remove_node,
    remove_response,
    set_meta,
    update_node_data,
)
from crdt.views.nodes import NodeType, accepts_output, default_data, output_pins


def _remote(doc: Doc[Any]) -> Doc[Any]:
    other: Doc[Any] = Doc()
    other.apply_update(doc.get_update())
    return other


def _exchange(a: Doc[Any], b: Doc[Any]) -> None:
    ua, ub = a.get_update(b.get_state()), b.get_update(a.get_state())
    a.apply_update(ub)
    b.apply_update(ua)


def _node_map(doc: Doc[Any], node_id: str) -> Map[Any]:
    node: Map[Any] = doc.get("nodes", type=Map)[node_id]
    return node


def _small_flow() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    set_meta(doc, name="Tavern", shortcut="loc.tavern", description="Night one")
    add_node(doc, "entry", NodeType.ENTRY, 0, 0)
    add_node(doc, "talk", NodeType.DIALOGUE, 200, 0, text="<p>Hi<br>there</p>", speakerSheetId="s1")
    add_node(doc, "end", NodeType.EXIT, 400, 0, label="Done")
    connect(doc, "c1", "entry", "output", "talk")
    connect(doc, "c2", "talk", "output", "end", label="bye")
    return doc


@pytest.mark.parametrize("node_type", list(NodeType))
def test_flow_each_node_type_created_and_read_back(node_type: NodeType) -> None:
    doc: Doc[Any] = Doc()
    add_node(doc, "n1", node_type, 10, -20.5)
    flow = read_flow(doc)
    node = flow.nodes["n1"]
    assert (node.type, node.x, node.y) == (node_type, 10.0, -20.5)
    assert node.data == default_data(node_type, "n1")
    expected_problems = [] if node_type is NodeType.ENTRY else ["nodes"]  # entry is missing
    assert [p.path for p in flow.problems] == expected_problems


@pytest.mark.parametrize(
    ("node_type", "inputs", "outputs"),
    [
        (NodeType.ENTRY, (), ("output",)),
        (NodeType.EXIT, ("input",), ()),
        (NodeType.JUMP, ("input",), ()),
        (NodeType.HUB, ("input",), ("output",)),
        (NodeType.INSTRUCTION, ("input",), ("output",)),
        (NodeType.DIALOGUE, ("input",), ("output",)),
        (NodeType.CONDITION, ("input",), ("true", "false")),
        (NodeType.SUBFLOW, ("input",), ("output",)),
        (NodeType.ANNOTATION, (), ()),
    ],
)
def test_flow_pins_per_node_type(
    node_type: NodeType, inputs: tuple[str, ...], outputs: tuple[str, ...]
) -> None:
    doc: Doc[Any] = Doc()
    add_node(doc, "n", node_type, 0, 0)
    node = read_flow(doc).nodes["n"]
    assert (node.inputs, node.outputs) == (inputs, outputs)


def test_flow_condition_switch_mode_pins_are_blocks_then_default() -> None:
    condition = {"logic": "all", "blocks": [{"id": "b1", "type": "block"}, {"id": "b2"}]}
    assert output_pins(NodeType.CONDITION, {"switchMode": True, "condition": condition}) == (
        "b1",
        "b2",
        "default",
    )
    legacy = {"switchMode": True, "condition": {"logic": "any", "rules": [{"id": "r1"}]}}
    assert output_pins(NodeType.CONDITION, legacy) == ("r1", "default")
    assert accepts_output(NodeType.SUBFLOW, {}, "exit_abc")
    assert accepts_output(NodeType.DIALOGUE, {"responses": [{"id": "7"}]}, "resp_7")
    assert not accepts_output(NodeType.DIALOGUE, {"responses": [{"id": "7"}]}, "output")


def test_flow_fields_are_stored_as_collaborative_types() -> None:
    doc = _small_flow()
    add_response(doc, "talk", "r1", "Yes")
    data = _node_map(doc, "talk")["data"]
    assert isinstance(data["text"], XmlFragment)
    assert isinstance(data["stageDirections"], Text)
    assert isinstance(data["menuText"], Text)
    assert isinstance(data["responses"], Array)
    assert isinstance(data["responses"][0]["text"], Text)
    assert isinstance(_node_map(doc, "end")["data"]["label"], Text)
    assert data["localizationId"] == "dialogue_talk"
    add_node(doc, "cond", NodeType.CONDITION, 0, 0)
    assert isinstance(_node_map(doc, "cond")["data"]["condition"]["blocks"], Array)


def test_flow_read_small_flow() -> None:
    flow = read_flow(_small_flow())
    assert flow.problems == ()
    assert flow.meta == {"name": "Tavern", "shortcut": "loc.tavern", "description": "Night one"}
    assert flow.entry is not None
    assert flow.entry.id == "entry"
    assert flow.nodes["talk"].data["text"] == "<p>Hi<br>there</p>"
    assert flow.nodes["end"].data["label"] == "Done"
    assert [c.id for c in flow.outgoing("talk")] == ["c2"]
    assert flow.connections["c2"].label == "bye"
    assert flow.connections["c1"].target_pin == "input"


def test_flow_add_node_refusals() -> None:
    doc = _small_flow()
    with pytest.raises(ViewError, match="exactly one entry"):
        add_node(doc, "entry2", NodeType.ENTRY, 0, 0)
    with pytest.raises(ViewError, match="already exists"):
        add_node(doc, "talk", NodeType.HUB, 0, 0)
    with pytest.raises(ViewError, match="no field"):
        add_node(doc, "h", NodeType.HUB, 0, 0, colour="#fff")
    with pytest.raises(ViewError, match="'sequence' is not a node type"):
        add_node(doc, "s", "sequence", 0, 0)


def test_flow_responses_take_over_and_release_pins() -> None:
    doc = _small_flow()
    add_response(doc, "talk", "r1", "Yes", condition={"logic": "all", "blocks": []})
    flow = read_flow(doc)
    assert flow.nodes["talk"].outputs == ("r1",)
    assert flow.connections["c2"].source_pin == "r1"  # migrated from `output`
    add_response(doc, "talk", "r0", "Maybe", index=0)
    assert read_flow(doc).nodes["talk"].outputs == ("r0", "r1")
    responses = read_flow(doc).nodes["talk"].responses
    assert [(r.id, r.text) for r in responses] == [("r0", "Maybe"), ("r1", "Yes")]
    assert responses[1].condition == {"logic": "all", "blocks": []}
    with pytest.raises(ViewError, match="already exists"):
        add_response(doc, "talk", "r1")
    with pytest.raises(ViewError, match="not a dialogue"):
        add_response(doc, "end", "r9")
    remove_response(doc, "talk", "r1")
    flow = read_flow(doc)
    assert "c2" not in flow.connections  # pruned with its pin
    assert flow.nodes["talk"].outputs == ("r0",)
    assert flow.problems == ()


def test_flow_connect_refusals() -> None:
    doc = _small_flow()
    add_node(doc, "note", NodeType.ANNOTATION, 0, 0, text="todo")
    cases: list[tuple[tuple[str, str, str, str], str]] = [
        (("talk", "output", "talk", "input"), "itself"),
        (("end", "output", "talk", "input"), "no output pin"),
        (("talk", "output", "entry", "input"), "no input pin"),
        (("talk", "output", "note", "input"), "no input pin"),
        (("talk", "output", "end", "input"), "already connected"),
        (("talk", "output", "ghost", "input"), "does not exist"),
    ]
    for i, (args, message) in enumerate(cases):
        with pytest.raises(ViewError, match=message):
            connect(doc, f"x{i}", *args)
    with pytest.raises(ViewError, match="already exists"):
        connect(doc, "c1", "entry", "output", "end")


def test_flow_remove_node_removes_its_connections() -> None:
    doc = _small_flow()
    remove_node(doc, "talk")
    flow = read_flow(doc)
    assert set(flow.nodes) == {"entry", "end"}
    assert flow.connections == {}
    with pytest.raises(ViewError, match="entry node cannot be deleted"):
        remove_node(doc, "entry")
    disconnect_doc = _small_flow()
    disconnect(disconnect_doc, "c1")
    assert set(read_flow(disconnect_doc).connections) == {"c2"}
    with pytest.raises(ViewError, match="does not exist"):
        disconnect(disconnect_doc, "c1")


def test_flow_move_and_update_keep_shared_text_objects() -> None:
    doc = _small_flow()
    move_node(doc, "talk", 12.5, 7)
    text_before = _node_map(doc, "talk")["data"]["text"]
    update_node_data(
        doc, "talk", text="<p>Changed</p>", stageDirections="(whispers)", audioAssetId="a"
    )
    data = _node_map(doc, "talk")["data"]
    assert data["text"] == text_before  # rewritten in place, editors stay bound
    node = read_flow(doc).nodes["talk"]
    assert (node.x, node.y) == (12.5, 7.0)
    assert node.data["text"] == "<p>Changed</p>"
    assert node.data["stageDirections"] == "(whispers)"
    assert node.data["audioAssetId"] == "a"
    with pytest.raises(ViewError, match="set once"):
        update_node_data(doc, "talk", localizationId="dialogue_other")


def test_flow_update_reads_identically_on_a_remote_peer() -> None:
    doc = _small_flow()
    add_response(doc, "talk", "r1", "Yes")
    for node_type in NodeType:
        if node_type is not NodeType.ENTRY:
            add_node(doc, f"n-{node_type.value}", node_type, 1, 2)
    assert read_flow(_remote(doc)) == read_flow(doc)
    assert flow_to_json(_remote(doc)) == flow_to_json(doc)


def test_flow_concurrent_edits_merge_and_read_the_same() -> None:
    a = _small_flow()
    b = _remote(a)
    add_response(a, "talk", "ra", "From A")
    add_response(b, "talk", "rb", "From B")
    update_node_data(a, "talk", menuText="Ask")
    move_node(b, "end", 900, 900)
    _exchange(a, b)
    flow = read_flow(a)
    assert flow == read_flow(b)
    assert {r.id for r in flow.nodes["talk"].responses} == {"ra", "rb"}
    assert flow.nodes["talk"].data["menuText"] == "Ask"
    assert flow.nodes["end"].x == 900.0


def test_flow_concurrent_delete_and_connect_is_reported() -> None:
    a = _small_flow()
    add_node(a, "hub", NodeType.HUB, 0, 0)
    b = _remote(a)
    remove_node(a, "hub")
    connect(b, "late", "hub", "output", "end")
    _exchange(a, b)
    flow = read_flow(a)
    assert flow == read_flow(b)
    assert "hub" not in flow.nodes
    assert [str(p) for p in flow.problems] == ["connections/late: source node 'hub' does not exist"]


def test_flow_malformed_doc_is_reported_not_raised() -> None:
    doc = _small_flow()
    nodes = doc.get("nodes", type=Map)
    connections = doc.get("connections", type=Map)
    with doc.transaction():
        nodes["typeless"] = Map({"x": 1, "y": 2, "data": Map()})
        nodes["odd"] = Map({"type": "sequence", "x": "left", "data": {"flat": True}})
        nodes["scalar"] = 42
        nodes["entry2"] = Map({"type": "entry", "x": 0, "y": 0, "data": Map()})
        nodes["h1"] = Map({"type": "hub", "x": 0, "y": 0, "data": Map({"hubId": "same"})})
        nodes["h2"] = Map({"type": "hub", "x": 0, "y": 0, "data": Map({"hubId": "same"})})
        nodes["j"] = Map({"type": "jump", "x": 0, "y": 0, "data": Map({"targetHubId": "nope"})})
        bad_responses = Array([Map({"id": "r"}), Map({"id": "r"}), Map({"text": Text("no id")})])
        _node_map(doc, "talk")["data"]["responses"] = bad_responses
        connections["dangling"] = Map(
            {"sourceNodeId": "talk", "sourcePin": "r", "targetNodeId": "gone", "targetPin": "input"}
        )
        connections["half"] = Map({"sourceNodeId": "talk"})
        connections["badpin"] = Map(
            {"sourceNodeId": "entry", "sourcePin": "true", "targetNodeId": "end"}
        )
        connections["dup"] = Map(
            {"sourceNodeId": "entry", "sourcePin": "output", "targetNodeId": "talk"}
        )
        connections["loop"] = Map(
            {
                "sourceNodeId": "h1",
                "sourcePin": "output",
                "targetNodeId": "h1",
                "targetPin": "input",
            }
        )
    flow = read_flow(doc)
    found = {str(p) for p in flow.problems}
    expected = {
        "nodes/typeless: node has no type",
        "nodes/odd: unknown node type 'sequence'",
        "nodes/odd: x is not a number",
        "nodes/odd: y is not a number",
        "nodes/odd: data is not a Y.Map",
        "nodes/scalar: node is not a map",
        "nodes: a flow needs exactly one entry node, found 2",
        "nodes/h2: hubId 'same' also used by h1",
        "nodes/j: jumps to missing hub 'nope'",
        "nodes/talk/responses/1: response id 'r' is used twice",
        "nodes/talk/responses/2: response has no id",
        "connections/dangling: target node 'gone' does not exist",
        "connections/half: sourcePin is missing",
        "connections/half: targetNodeId is missing",
        "connections/badpin: source node 'entry' has no output pin 'true'",
        "connections/dup: duplicates connection c1",
        "connections/loop: connects a node to itself",
        "connections/c2: source node 'talk' has no output pin 'output'",
    }
    assert found == expected
    assert flow.nodes["odd"].data == {"flat": True}
    assert flow.nodes["typeless"].outputs == ()
    assert "half" not in flow.connections
    assert flow.nodes["talk"].outputs == ("r",)


def test_flow_json_round_trip() -> None:
    doc = _small_flow()
    add_response(doc, "talk", "r1", "Yes", condition={"logic": "any", "blocks": []})
    add_node(
        doc,
        "cond",
        NodeType.CONDITION,
        5,
        5,
        switchMode=True,
        condition={"logic": "all", "blocks": [{"id": "b1", "type": "block", "rules": []}]},
    )
    add_node(doc, "ins", NodeType.INSTRUCTION, 1, 1, description="Give gold")
    update_node_data(
        doc, "ins", assignments=[{"id": "assign_1", "variable": "gold", "operator": "add"}]
    )
    set_meta(doc, settings={"theme": "dark"}, isMain=True)
    data = flow_to_json(doc)
    assert json.loads(json.dumps(data)) == data
    assert data["nodes"]["talk"]["data"]["text"] == "<p>Hi<br>there</p>"
    assert data["nodes"]["talk"]["x"] == 200
    copy = json_to_flow(data)
    assert flow_to_json(copy) == data
    assert read_flow(copy) == read_flow(doc)
    copied = _node_map(copy, "talk")["data"]
    assert isinstance(copied["text"], XmlFragment)
    assert isinstance(copied["responses"][0]["text"], Text)
    assert isinstance(_node_map(copy, "ins")["data"]["description"], Text)
    assert isinstance(doc.get("meta", type=Map)["settings"], Map)


def test_flow_edits_carry_the_callers_origin() -> None:
    doc: Doc[Any] = Doc()
    origins: list[int | None] = []
    doc.observe(lambda event: origins.append(event.transaction.origin()))
    add_node(doc, "e", NodeType.ENTRY, 0, 0, origin=16)
    add_node(doc, "d", NodeType.DIALOGUE, 0, 0, origin=17)
    connect(doc, "c", "e", "output", "d", origin=18)
    add_response(doc, "d", "r", origin=19)
    move_node(doc, "d", 1, 1, origin=20)
    assert origins == [16, 17, 18, 19, 20]
