"""Ink (inkle's scripting language) from a project's flows: `export_ink(project)`.

Each flow is a knot (named from its shortcut, else its name) and each node a stitch, so any
graph (loops, hubs reached from many places) needs no restructuring: every edge is a divert.
Jumps divert straight to their hub's stitch. The story starts by calling the main flow as a
tunnel, so an exit that returns to its caller (`->->`) is valid even at the top. A subflow is a
tunnel call; when its exits lead different ways, the exit taken is passed back in the variable
`storyarn_exit`, because a tunnel cannot return to more than one place.

Responses are sticky choices (`+`): in Storyarn a response stays offered when its dialogue is
reached again (through a hub or a loop), where ink's `*` would hide it after one pick.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crdt.views import NodeData, NodeType
from crdt.views.localizable import html_to_text
from workers.formats.expressions import (
    INK,
    Expressions,
    Kind,
    NotExpressible,
    Variable,
    assignments_of,
    collect_variables,
    literal,
    responses_of,
)
from workers.formats.graph import hub_node, next_node, reachable
from workers.formats.names import Namer
from workers.formats.project import FlowEntry, Project
from workers.formats.result import ScriptExport, Warnings

EXIT_VARIABLE = "storyarn_exit"
# Slashes and stars always: ink strips `//` and `/* */` comments before it reads escapes.
_ALWAYS = frozenset("\\{}|[]#/*")
_LINE_START = frozenset("+-=~(<>")
_PAIRS = {"-": ">", "<": ">-"}


def ink_text(text: str) -> str:
    """`text` as literal ink content: logic, choice, divert and comment syntax escaped."""
    text = " ".join(text.split())
    out: list[str] = []
    for i, char in enumerate(text):
        after = text[i + 1] if i + 1 < len(text) else ""
        if (
            char in _ALWAYS
            or (i == 0 and char in _LINE_START)
            or (after and after in _PAIRS.get(char, ""))
        ):
            out.append("\\")
        out.append(char)
    escaped = "".join(out)
    # A line starting with TODO: is an author's note to ink, not content.
    return f"\\{escaped}" if escaped.startswith("TODO") else escaped


def _comment(text: str) -> str:
    return "// " + " ".join(text.split())


class _FlowWriter:
    def __init__(
        self,
        flow: FlowEntry,
        knots: Mapping[str, str],
        namer: Namer,
        project: Project,
        expressions: Expressions,
        warn: Warnings,
    ) -> None:
        self.entry, self.flow, self.knot = flow, flow.data, knots[flow.id]
        self.knots, self.project, self.expr, self.warn = knots, project, expressions, warn
        self.uses_exit_variable = False
        order = reachable(self.flow)
        order += sorted(set(self.flow.nodes) - set(order))
        counts: dict[str, int] = {}
        self.stitches: dict[str, str] = {}
        for node_id in order:
            node = self.flow.nodes[node_id]
            if node.type in (NodeType.ENTRY, NodeType.ANNOTATION, NodeType.JUMP, None):
                continue
            if node.type is NodeType.HUB:
                wanted = str(node.data.get("label") or node.data.get("hubId") or node_id)
                self.stitches[node_id] = namer.name(f"hub_{wanted}", "hub")
            else:
                counts[node.type] = counts.get(node.type, 0) + 1
                self.stitches[node_id] = namer.name(f"{node.type.value}_{counts[node.type]}")

    def target(self, node_id: str | None) -> str:
        """Where a divert to `node_id` goes: its stitch, a jump's hub, or END."""
        if node_id is None:
            return "END"
        node = self.flow.nodes[node_id]
        if node.type is NodeType.JUMP:
            hub = hub_node(self.flow, node.data.get("targetHubId"))
            if hub is None:
                self.warn(f"jump {node_id} names no hub; the story ends there")
                return "END"
            node_id = hub.id
        stitch = self.stitches.get(node_id)
        if stitch is None:
            self.warn(f"node {node_id} has an unknown type; the story ends there")
            return "END"
        return f"{self.knot}.{stitch}"

    def divert(self, node: NodeData, pin: str) -> str:
        return f"-> {self.target(next_node(self.flow, node, pin, self.warn))}"

    def assignments(self, items: Any) -> list[str]:
        lines = []
        for item in assignments_of(items):
            try:
                target, value = self.expr.assignment(item)
            except NotExpressible as reason:
                self.warn(f"assignment not exported: {reason}")
                lines.append(_comment(f"Not exported: {reason}"))
                continue
            lines.append(f"~ {target} = {value}")
        return lines

    def condition(self, condition: Any) -> str | None:
        try:
            return self.expr.condition(condition if isinstance(condition, Mapping) else None)
        except NotExpressible as reason:
            self.warn(f"condition not exported: {reason}")
            return None

    def write(self) -> list[str]:
        lines = [f"=== {self.knot} ===", _comment(f"Flow: {self.entry.name} ({self.entry.id})")]
        for node in sorted(self.flow.nodes.values(), key=lambda n: n.id):
            if node.type is NodeType.ANNOTATION and str(node.data.get("text") or "").strip():
                lines.append(_comment(f"Note: {node.data.get('text')}"))
        entry = self.flow.entry
        self.warn.where = f"flow {self.entry.name}"
        if entry is None:
            self.warn("has no entry node; its knot ends at once")
        lines.append(self.divert(entry, "output") if entry is not None else "-> END")
        for node_id, stitch in self.stitches.items():
            node = self.flow.nodes[node_id]
            self.warn.where = f"flow {self.entry.name}: node {node_id}"
            lines += ["", f"= {stitch}", *self.node(node)]
        return lines

    def node(self, node: NodeData) -> list[str]:
        match node.type:
            case NodeType.DIALOGUE:
                return self.dialogue(node)
            case NodeType.HUB:
                return [self.divert(node, "output")]
            case NodeType.INSTRUCTION:
                return [
                    *self.assignments(node.data.get("assignments")),
                    self.divert(node, "output"),
                ]
            case NodeType.CONDITION:
                return self.branch(node)
            case NodeType.SUBFLOW:
                return self.subflow(node)
            case NodeType.EXIT:
                return self.exit(node)
        return ["-> END"]

    def dialogue(self, node: NodeData) -> list[str]:
        lines = []
        speaker_id = node.data.get("speakerSheetId")
        speaker = self.project.speaker_name(speaker_id)
        if speaker_id and speaker is None:
            self.warn(f"speaker page {speaker_id} is not in the project")
        text = [t for t in html_to_text(str(node.data.get("text") or "")).split("\n") if t.strip()]
        tag = node.data.get("localizationId")
        for i, line in enumerate(text):
            prefix = f"{ink_text(speaker)}: " if speaker and i == 0 else ""
            suffix = f" #id:{tag}" if i == 0 and isinstance(tag, str) and tag else ""
            lines.append(f"{prefix}{ink_text(line)}{suffix}")
        if not node.responses:
            return [*lines, self.divert(node, "output")]
        by_id = {r.get("id"): r for r in responses_of(node.data)}
        for response in node.responses:
            condition = self.condition(response.condition) if response.condition else "true"
            if condition is None:
                lines.append(_comment(f"Not exported: the condition of response {response.id}"))
                condition = "false"
            guard = "" if condition == "true" else f"{{{condition}}} "
            label = ink_text(response.text) or ink_text(response.id)
            lines.append(f"+ {guard}[{label}]")
            if response.instruction.strip():
                self.warn(f"response {response.id}: free-text instruction not exported")
                lines.append("  " + _comment(f"Instruction: {response.instruction}"))
            extra = by_id.get(response.id, {}).get("instructionAssignments")
            lines += ["  " + line for line in self.assignments(extra)]
            lines.append("  " + self.divert(node, response.id))
        return lines

    def branch(self, node: NodeData) -> list[str]:
        condition = node.data.get("condition")
        if node.data.get("switchMode") is not True:
            expression = self.condition(condition)
            if expression is None:
                return [_comment("Not exported: this condition"), self.divert(node, "false")]
            return [
                f"{{ {expression}:",
                f"  {self.divert(node, 'true')}",
                "- else:",
                f"  {self.divert(node, 'false')}",
                "}",
            ]
        lines = ["{"]
        for pin in node.outputs[:-1]:
            block = (
                next(
                    (
                        b
                        for b in [*condition.get("blocks", []), *condition.get("rules", [])]
                        if isinstance(b, Mapping) and b.get("id") == pin
                    ),
                    None,
                )
                if isinstance(condition, Mapping)
                else None
            )
            expression = self.condition(
                block
                if block is None or "rules" in block or "blocks" in block
                else {"rules": [block]}
            )
            if expression is None:
                lines.append("  " + _comment(f"Not exported: case {pin}"))
                continue
            lines.append(f"- {expression}: {self.divert(node, pin)}")
        lines += [f"- else: {self.divert(node, 'default')}", "}"]
        return lines

    def subflow(self, node: NodeData) -> list[str]:
        knot = self.knots.get(str(node.data.get("referencedFlowId")))
        if knot is None:
            self.warn("subflow names a flow that is not exported; it is skipped")
            return [_comment("Not exported: the referenced flow"), self.divert(node, "output")]
        exits = sorted({c.source_pin for c in self.flow.outgoing(node.id)} - {"output"})
        if not exits:
            return [f"-> {knot} ->", self.divert(node, "output")]
        self.uses_exit_variable = True
        lines = [f'~ {EXIT_VARIABLE} = ""', f"-> {knot} ->", "{"]
        for pin in exits:
            exit_id = pin.removeprefix("exit_")
            lines.append(f'- {EXIT_VARIABLE} == "{ink_text(exit_id)}": {self.divert(node, pin)}')
        lines += [f"- else: {self.divert(node, 'output')}", "}"]
        return lines

    def exit(self, node: NodeData) -> list[str]:
        mode = node.data.get("exitMode")
        if mode == "flow_reference":
            knot = self.knots.get(str(node.data.get("referencedFlowId")))
            if knot is not None:
                return [f"-> {knot}"]
            self.warn("exit leads to a flow that is not exported; the story ends there")
        if mode == "caller_return":
            self.uses_exit_variable = True
            return [f'~ {EXIT_VARIABLE} = "{ink_text(node.id)}"', "->->"]
        return ["-> END"]


def _declaration(variable: Variable, warn: Warnings) -> str:
    try:
        value = literal(variable.initial, variable.kind)
    except NotExpressible:
        warn(f"variable {variable.address}: its initial value cannot be written; using a default")
        value = {Kind.NUMBER: "0", Kind.BOOL: "false"}.get(variable.kind, '""')
    return f"VAR {variable.name} = {value}"


def export_ink(project: Project) -> ScriptExport:
    """The project's flows as one `.ink` story; the main flow (else the first) starts it."""
    namer = Namer([EXIT_VARIABLE])
    warn = Warnings()
    variables = collect_variables(project, namer)
    knots = {flow.id: namer.name(flow.shortcut or flow.name, "flow") for flow in project.flows}
    expressions = Expressions(INK, variables)
    body: list[str] = []
    uses_exit = False
    for flow in project.flows:
        writer = _FlowWriter(flow, knots, namer, project, expressions, warn)
        body += ["", *writer.write()]
        uses_exit = uses_exit or writer.uses_exit_variable
    warn.where = ""
    declarations = [_declaration(v, warn) for v in variables.values() if v.kind is not Kind.OTHER]
    if uses_exit:
        declarations.append(f'VAR {EXIT_VARIABLE} = ""')
    start = [f"-> {knots[project.flows[0].id]} ->", "-> END"] if project.flows else ["-> END"]
    header = ["// Exported from Storyarn.", *(_comment(f"WARNING: {w}") for w in warn.found)]
    lines = [*header, *declarations, "", *start, *body]
    return ScriptExport("\n".join(lines) + "\n", tuple(warn.found))
