"""Yarn Spinner scripts from a project's flows: `export_yarn(project)`.

Yarn has no labels inside a node, so a flow's graph is written as nested blocks: each flow is a
node (titled from its shortcut, else its name) that follows the graph from the entry, writing a
node's successors inline under it (option bodies, `<<if>>` branches). A graph node reached from
several places (or a hub) becomes a Yarn node of its own, reached by `<<jump>>`, so nothing is
written twice and loops end. Subflows are `<<detour>>`s (Yarn Spinner 2.3+); like the Ink export,
a flow returning through one of several exits says which in `$storyarn_exit`.

Text escaping: `# < > { } \\` and `//` have no backslash escape that every Yarn tool reads, so
they are written as interpolated string literals (`{"#"}`), which the compiler prints as is.
Square brackets are left alone: they are Yarn markup, and a writer may mean them as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crdt.views import NodeData, NodeType
from crdt.views.localizable import html_to_text
from workers.formats.expressions import (
    YARN,
    Expressions,
    Kind,
    NotExpressible,
    Variable,
    assignments_of,
    collect_variables,
    literal,
    responses_of,
)
from workers.formats.graph import hub_node, next_node, reachable, successors
from workers.formats.names import Namer
from workers.formats.project import FlowEntry, Project
from workers.formats.result import ScriptExport, Warnings

EXIT_VARIABLE = "$storyarn_exit"
INDENT = "    "
_SPECIAL = {"#": '{"#"}', "<": '{"<"}', ">": '{">"}', "{": '{"{"}', "}": '{"}"}', "\\": '{"\\\\"}'}


def yarn_text(text: str, *, speaker: bool = False) -> str:
    """`text` as literal Yarn line content. Unless it follows a speaker, a colon is escaped
    too: `Name: words` would make `Name` the speaker."""
    text = " ".join(text.split())
    out: list[str] = []
    for i, char in enumerate(text):
        after = text[i + 1] if i + 1 < len(text) else ""
        if char in _SPECIAL:
            out.append(_SPECIAL[char])
        elif (
            (char == "/" and after == "/")
            or (i == 0 and char in "-=")
            or (char == ":" and not speaker)
        ):
            out.append(f'{{"{char}"}}')
        else:
            out.append(char)
    return "".join(out)


class _FlowWriter:
    def __init__(
        self,
        flow: FlowEntry,
        titles: Mapping[str, str],
        namer: Namer,
        project: Project,
        expressions: Expressions,
        warn: Warnings,
        called: frozenset[str],
    ) -> None:
        self.entry, self.flow, self.titles = flow, flow.data, titles
        self.project, self.expr, self.warn = project, expressions, warn
        self.detoured = flow.id in called
        self.uses_exit_variable = False
        self.order = reachable(self.flow)
        incoming: dict[str, int] = {}
        for node_id in self.order:
            for target in successors(self.flow, self.flow.nodes[node_id]):
                incoming[target] = incoming.get(target, 0) + 1
        self.anchors: dict[str, str] = {}
        for node_id in self.order:
            node = self.flow.nodes[node_id]
            # Exits have nothing after them: writing one twice costs less than a jump.
            shared = incoming.get(node_id, 0) > 1 and node.type is not NodeType.EXIT
            if node.type is NodeType.HUB or shared:
                label = node.data.get("label") if node.type is NodeType.HUB else None
                wanted = f"{titles[flow.id]}_{label or node.type or 'node'}"
                self.anchors[node_id] = namer.name(wanted)

    def write(self) -> list[list[str]]:
        """The flow's Yarn nodes, each as its lines (title, body)."""
        self.warn.where = f"flow {self.entry.name}"
        entry = self.flow.entry
        if entry is None:
            self.warn("has no entry node; its Yarn node is empty")
        for node_id in sorted(set(self.flow.nodes) - set(self.order)):
            if self.flow.nodes[node_id].type is not NodeType.ANNOTATION:
                self.warn(f"node {node_id} is unreachable from the entry and is not exported")
        first = self.follow(entry, "output", 0) if entry is not None else []
        nodes = [self.node(self.titles[self.entry.id], first)]
        for node_id, title in self.anchors.items():
            nodes.append(self.node(title, self.body(self.flow.nodes[node_id], 0)))
        return nodes

    def node(self, title: str, body: list[str]) -> list[str]:
        return [f"title: {title}", "---", *body, "==="]

    def say(self, node: NodeData, message: str) -> None:
        self.warn.where = f"flow {self.entry.name}: node {node.id}"
        self.warn(message)

    def follow(self, node: NodeData, pin: str, depth: int) -> list[str]:
        self.warn.where = f"flow {self.entry.name}: node {node.id}"
        return self.at(next_node(self.flow, node, pin, self.warn), depth)

    def otherwise(self, node: NodeData, pin: str, depth: int) -> list[str]:
        """An `<<else>>` branch, left out when it would be empty."""
        lines = self.follow(node, pin, depth + 1)
        return [INDENT * depth + "<<else>>", *lines] if lines else []

    def at(self, node_id: str | None, depth: int) -> list[str]:
        """The lines for arriving at `node_id`: a jump to its own node, or its body inline."""
        if node_id is None:
            return self.stop(depth)
        if node_id in self.anchors:
            return [INDENT * depth + f"<<jump {self.anchors[node_id]}>>"]
        return self.body(self.flow.nodes[node_id], depth)

    def stop(self, depth: int) -> list[str]:
        # The end of a node ends the dialogue, except in a detour where it returns instead.
        return [INDENT * depth + "<<stop>>"] if self.detoured else []

    def assignments(self, node: NodeData, items: Any, depth: int) -> list[str]:
        lines = []
        for item in assignments_of(items):
            try:
                target, value = self.expr.assignment(item)
            except NotExpressible as reason:
                self.say(node, f"assignment not exported: {reason}")
                lines.append(INDENT * depth + f"// Not exported: {reason}")
                continue
            lines.append(INDENT * depth + f"<<set {target} to {value}>>")
        return lines

    def condition(self, node: NodeData, condition: Any) -> str | None:
        try:
            return self.expr.condition(condition if isinstance(condition, Mapping) else None)
        except NotExpressible as reason:
            self.say(node, f"condition not exported: {reason}")
            return None

    def body(self, node: NodeData, depth: int) -> list[str]:
        pad = INDENT * depth
        match node.type:
            case NodeType.DIALOGUE:
                return self.dialogue(node, depth)
            case NodeType.HUB:
                return self.follow(node, "output", depth)
            case NodeType.JUMP:
                hub = hub_node(self.flow, node.data.get("targetHubId"))
                if hub is None:
                    self.say(node, f"jump {node.id} names no hub; the dialogue ends there")
                    return self.stop(depth)
                return self.at(hub.id, depth)
            case NodeType.INSTRUCTION:
                return [
                    *self.assignments(node, node.data.get("assignments"), depth),
                    *self.follow(node, "output", depth),
                ]
            case NodeType.CONDITION:
                return self.branch(node, depth)
            case NodeType.SUBFLOW:
                return self.subflow(node, depth)
            case NodeType.EXIT:
                return self.exit(node, depth)
        self.say(node, f"node {node.id} has an unknown type; the dialogue ends there")
        return [pad + "// Not exported: a node of unknown type", *self.stop(depth)]

    def dialogue(self, node: NodeData, depth: int) -> list[str]:
        pad = INDENT * depth
        speaker_id = node.data.get("speakerSheetId")
        speaker = self.project.speaker_name(speaker_id)
        if speaker_id and speaker is None:
            self.say(node, f"speaker page {speaker_id} is not in the project")
        text = [t for t in html_to_text(str(node.data.get("text") or "")).split("\n") if t.strip()]
        tag = node.data.get("localizationId")
        lines = []
        for i, paragraph in enumerate(text):
            prefix = f"{yarn_text(speaker, speaker=False)}: " if speaker and i == 0 else ""
            line_id = f"{tag}" if i == 0 else f"{tag}_{i + 1}"
            suffix = f" #line:{line_id}" if isinstance(tag, str) and tag else ""
            lines.append(f"{pad}{prefix}{yarn_text(paragraph, speaker=bool(prefix))}{suffix}")
        if not node.responses:
            return [*lines, *self.follow(node, "output", depth)]
        by_id = {r.get("id"): r for r in responses_of(node.data)}
        for response in node.responses:
            guard = ""
            if response.condition:
                condition = self.condition(node, response.condition)
                if condition is None:
                    lines.append(pad + f"// Not exported: the condition of {response.id}")
                    condition = "false"
                guard = "" if condition == "true" else f" <<if {condition}>>"
            lines.append(f"{pad}-> {yarn_text(response.text or response.id)}{guard}")
            if response.instruction.strip():
                self.say(node, f"response {response.id}: free-text instruction not exported")
            extra = by_id.get(response.id, {}).get("instructionAssignments")
            lines += [
                *self.assignments(node, extra, depth + 1),
                *self.follow(node, response.id, depth + 1),
            ]
        return lines

    def branch(self, node: NodeData, depth: int) -> list[str]:
        pad = INDENT * depth
        condition = node.data.get("condition")
        if node.data.get("switchMode") is not True:
            expression = self.condition(node, condition)
            if expression is None:
                return [pad + "// Not exported: this condition", *self.follow(node, "false", depth)]
            return [
                f"{pad}<<if {expression}>>",
                *self.follow(node, "true", depth + 1),
                *self.otherwise(node, "false", depth),
                f"{pad}<<endif>>",
            ]
        cases = condition if isinstance(condition, Mapping) else {}
        found = [*cases.get("blocks", []), *cases.get("rules", [])]
        lines: list[str] = []
        for pin in node.outputs[:-1]:
            block = next((b for b in found if isinstance(b, Mapping) and b.get("id") == pin), None)
            if block is not None and "rules" not in block and "blocks" not in block:
                block = {"rules": [block]}  # a pages-era switch: one case per rule
            expression = self.condition(node, block)
            if expression is None:
                lines.append(pad + f"// Not exported: case {pin}")
                continue
            keyword = "elseif" if lines and "<<" in "".join(lines) else "if"
            lines += [f"{pad}<<{keyword} {expression}>>", *self.follow(node, pin, depth + 1)]
        if not any("<<if" in line for line in lines):
            return [*lines, *self.follow(node, "default", depth)]
        return [
            *lines,
            *self.otherwise(node, "default", depth),
            f"{pad}<<endif>>",
        ]

    def subflow(self, node: NodeData, depth: int) -> list[str]:
        pad = INDENT * depth
        title = self.titles.get(str(node.data.get("referencedFlowId")))
        if title is None:
            self.say(node, "subflow names a flow that is not exported; it is skipped")
            return [
                pad + "// Not exported: the referenced flow",
                *self.follow(node, "output", depth),
            ]
        exits = sorted({c.source_pin for c in self.flow.outgoing(node.id)} - {"output"})
        if not exits:
            return [f"{pad}<<detour {title}>>", *self.follow(node, "output", depth)]
        self.uses_exit_variable = True
        lines = [f'{pad}<<set {EXIT_VARIABLE} to "">>', f"{pad}<<detour {title}>>"]
        for i, pin in enumerate(exits):
            exit_id = literal(pin.removeprefix("exit_"), Kind.STRING)
            keyword = "if" if i == 0 else "elseif"
            lines += [
                f"{pad}<<{keyword} {EXIT_VARIABLE} == {exit_id}>>",
                *self.follow(node, pin, depth + 1),
            ]
        return [
            *lines,
            *self.otherwise(node, "output", depth),
            f"{pad}<<endif>>",
        ]

    def exit(self, node: NodeData, depth: int) -> list[str]:
        pad = INDENT * depth
        mode = node.data.get("exitMode")
        if mode == "flow_reference":
            title = self.titles.get(str(node.data.get("referencedFlowId")))
            if title is not None:
                return [f"{pad}<<jump {title}>>"]
            self.say(node, "exit leads to a flow that is not exported; the dialogue ends there")
        if mode == "caller_return":
            self.uses_exit_variable = True
            return [
                f"{pad}<<set {EXIT_VARIABLE} to {literal(node.id, Kind.STRING)}>>",
                f"{pad}<<return>>",
            ]
        return self.stop(depth)


def _declaration(variable: Variable, warn: Warnings) -> str:
    try:
        value = literal(variable.initial, variable.kind)
    except NotExpressible:
        warn(f"variable {variable.address}: its initial value cannot be written; using a default")
        value = {Kind.NUMBER: "0", Kind.BOOL: "false"}.get(variable.kind, '""')
    return f"<<declare ${variable.name} = {value}>>"


def _called(project: Project) -> frozenset[str]:
    """Flows that can run inside a detour: those a subflow names, and those their exits lead
    to (a `<<jump>>` keeps the detour open, so the end of that node returns too)."""
    found = {
        str(node.data.get("referencedFlowId"))
        for flow in project.flows
        for node in flow.data.nodes.values()
        if node.type is NodeType.SUBFLOW
    }
    grew = True
    while grew:
        grew = False
        for flow in project.flows:
            if flow.id not in found:
                continue
            for node in flow.data.nodes.values():
                target = str(node.data.get("referencedFlowId"))
                leads = node.type is NodeType.EXIT and node.data.get("exitMode") == "flow_reference"
                if leads and target not in found:
                    found.add(target)
                    grew = True
    return frozenset(found)


def export_yarn(project: Project) -> ScriptExport:
    """The project's flows as one `.yarn` file; the main flow (else the first) comes first."""
    namer = Namer(["storyarn_exit"])
    warn = Warnings()
    variables = collect_variables(project, namer)
    titles = {flow.id: namer.name(flow.shortcut or flow.name, "flow") for flow in project.flows}
    expressions = Expressions(YARN, variables)
    called = _called(project)
    nodes: list[list[str]] = []
    uses_exit = False
    for flow in project.flows:
        writer = _FlowWriter(flow, titles, namer, project, expressions, warn, called)
        nodes += writer.write()
        uses_exit = uses_exit or writer.uses_exit_variable
    warn.where = ""
    declarations = [_declaration(v, warn) for v in variables.values() if v.kind is not Kind.OTHER]
    if uses_exit:
        declarations.append(f'<<declare {EXIT_VARIABLE} = "">>')
    if nodes:
        nodes[0][2:2] = declarations  # after "title:" and "---": declarations are hoisted
    header = ["// Exported from Storyarn.", *(f"// WARNING: {w}" for w in warn.found)]
    text = "\n".join([*header, *("\n".join(node) for node in nodes)]) + "\n"
    return ScriptExport(text, tuple(warn.found))
