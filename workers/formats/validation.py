"""The pre-export validation report (Storyarn's `exports/validator.ex`), as plain data.

Errors make an export wrong (a connection to nothing, a jump to no hub, a subflow naming no
flow, a flow without an entry); warnings make it poorer (unreachable nodes, dialogue without a
speaker or text); untranslated texts are listed per target locale. Pure: the caller decides
whether warnings block an export.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from crdt.views import NodeType, accepts_output
from crdt.views.localizable import html_to_text
from workers.formats.graph import hub_node, reachable
from workers.formats.localization_csv import rows
from workers.formats.project import FlowEntry, Project


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    code: str  # e.g. "dangling_connection", "unreachable_node", "missing_speaker"
    message: str
    flow_id: str | None = None
    node_id: str | None = None
    connection_id: str | None = None


@dataclass(frozen=True, slots=True)
class Untranslated:
    key: str  # the runtime key, as in the localization CSV
    source_type: str
    source_id: str
    field: str


@dataclass(frozen=True)
class ValidationReport:
    issues: tuple[Issue, ...]
    untranslated: Mapping[str, tuple[Untranslated, ...]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """`errors`, `warnings` (untranslated texts count) or `passed`."""
        if any(i.severity is Severity.ERROR for i in self.issues):
            return "errors"
        if self.issues or any(self.untranslated.values()):
            return "warnings"
        return "passed"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "errors": [asdict(i) for i in self.issues if i.severity is Severity.ERROR],
            "warnings": [asdict(i) for i in self.issues if i.severity is Severity.WARNING],
            "untranslated": {
                locale: [asdict(u) for u in found] for locale, found in self.untranslated.items()
            },
        }


def _flow_issues(flow: FlowEntry, project: Project) -> Iterable[Issue]:
    data, fid = flow.data, flow.id
    if data.nodes and data.entry is None:
        yield Issue(Severity.ERROR, "missing_entry", "the flow has no entry node", fid)
    for conn in data.connections.values():
        source, target = data.nodes.get(conn.source_node_id), data.nodes.get(conn.target_node_id)
        if source is None or target is None:
            missing = conn.source_node_id if source is None else conn.target_node_id
            message = f"connects to the missing node {missing}"
            yield Issue(Severity.ERROR, "dangling_connection", message, fid, None, conn.id)
        elif not accepts_output(source.type, source.data, conn.source_pin):
            message = f"leaves {source.id} from {conn.source_pin!r}, which it does not have"
            yield Issue(Severity.WARNING, "invalid_pin", message, fid, source.id, conn.id)
    seen = set(reachable(data))
    for node in sorted(data.nodes.values(), key=lambda n: n.id):
        nid = node.id
        if node.type not in (NodeType.ANNOTATION, NodeType.ENTRY) and nid not in seen:
            yield Issue(
                Severity.WARNING, "unreachable_node", "not reachable from the entry", fid, nid
            )
        if node.type is NodeType.JUMP and hub_node(data, node.data.get("targetHubId")) is None:
            yield Issue(Severity.ERROR, "broken_jump", "jumps to a missing hub", fid, nid)
        referenced = node.data.get("referencedFlowId")
        needs_flow = node.type is NodeType.SUBFLOW or (
            node.type is NodeType.EXIT and node.data.get("exitMode") == "flow_reference"
        )
        if needs_flow and project.flow(referenced) is None:
            message = f"references the flow {referenced!r}, which is not in the project"
            yield Issue(Severity.ERROR, "broken_flow_reference", message, fid, nid)
        if node.type is NodeType.DIALOGUE:
            speaker = node.data.get("speakerSheetId")
            if not speaker:
                yield Issue(
                    Severity.WARNING, "missing_speaker", "dialogue has no speaker", fid, nid
                )
            elif project.speaker_name(speaker) is None:
                message = f"speaker page {speaker!r} is not in the project"
                yield Issue(Severity.WARNING, "unknown_speaker", message, fid, nid)
            if not html_to_text(str(node.data.get("text") or "")).strip():
                yield Issue(Severity.WARNING, "empty_dialogue", "dialogue has no text", fid, nid)


def validate_project(project: Project, locales: Iterable[str] | None = None) -> ValidationReport:
    """Check every flow, and list untranslated texts per locale (default: the project's
    target locales)."""
    issues = [issue for flow in project.flows for issue in _flow_issues(flow, project)]
    if locales is None:
        locales = project.locales.targets if project.locales is not None else ()
    untranslated = {
        locale: tuple(
            Untranslated(
                row.key, row.source.source_type.value, row.source.source_id, row.source.field
            )
            for row in rows(project, locale)
            if not row.translation.strip()
        )
        for locale in locales
    }
    return ValidationReport(tuple(issues), untranslated)
