"""Flow node types: their default `data`, where their collaborative strings sit, and their pins.

Field names are the camelCase of domain.md §6.1. Only authored state is here: derived values
(subflow exit pins and names, stale flags, word counts) are computed by readers of the doc.
Pins follow the connection rules of domain.md §1.5; they are computed from JSON-form `data`
(what `read_flow` gives) so the same function serves readers and writers.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from crdt.views._values import Each, Rich, Shape

INPUT = "input"
OUTPUT = "output"
DEFAULT = "default"


class NodeType(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"
    DIALOGUE = "dialogue"
    HUB = "hub"
    JUMP = "jump"
    CONDITION = "condition"
    INSTRUCTION = "instruction"
    SUBFLOW = "subflow"
    ANNOTATION = "annotation"


RESPONSE_SHAPE: Mapping[str, Shape] = {"text": Rich.TEXT}

# Where each type's Y.Text / XmlFragment fields are; every other field is converted generically.
DATA_SHAPES: Mapping[NodeType, Mapping[str, Shape]] = {
    NodeType.DIALOGUE: {
        "text": Rich.XML,
        "stageDirections": Rich.TEXT,
        "menuText": Rich.TEXT,
        "responses": Each(RESPONSE_SHAPE),
    },
    NodeType.EXIT: {"label": Rich.TEXT},
    NodeType.HUB: {"label": Rich.TEXT},
    NodeType.INSTRUCTION: {"description": Rich.TEXT},
    NodeType.ANNOTATION: {"text": Rich.TEXT},
}


def default_data(node_type: NodeType, node_id: str) -> dict[str, Any]:
    """A new node's `data` in JSON form (strings for Y.Text and rich-text fields)."""
    match node_type:
        case NodeType.ENTRY:
            return {}
        case NodeType.EXIT:
            return {
                "label": "",
                "technicalId": "",
                "outcomeTags": [],
                "outcomeColor": "#22c55e",
                "exitMode": "terminal",
                "referencedFlowId": None,
                "targetType": None,
                "targetId": None,
            }
        case NodeType.DIALOGUE:
            return {
                "speakerSheetId": None,
                "avatarId": None,
                "text": "",
                "stageDirections": "",
                "menuText": "",
                "audioAssetId": None,
                "technicalId": "",
                # A stable runtime key, set once: derived from the (UUID) node id so that a
                # node created offline gets the same key on every peer.
                "localizationId": f"dialogue_{node_id}",
                "responses": [],
            }
        case NodeType.HUB:
            return {"hubId": node_id, "label": "", "color": "#be185d"}
        case NodeType.JUMP:
            return {"targetHubId": None}
        case NodeType.CONDITION:
            return {"condition": {"logic": "all", "blocks": []}, "switchMode": False}
        case NodeType.INSTRUCTION:
            return {"assignments": [], "description": ""}
        case NodeType.SUBFLOW:
            return {"referencedFlowId": None}
        case NodeType.ANNOTATION:
            return {"text": "", "color": "#fbbf24", "fontSize": "md"}


def new_response(
    response_id: str,
    text: str = "",
    *,
    condition: Mapping[str, Any] | None = None,
    instruction: str = "",
) -> dict[str, Any]:
    """A dialogue response in JSON form."""
    return {
        "id": response_id,
        "text": text,
        "condition": dict(condition) if condition is not None else None,
        "instruction": instruction,  # legacy free text, kept for old flows
        "instructionAssignments": [],
    }


def input_pins(node_type: NodeType | None) -> tuple[str, ...]:
    """Entry and annotation nodes take no input; every other node has the one `input` pin."""
    if node_type in (NodeType.ENTRY, NodeType.ANNOTATION, None):
        return ()
    return (INPUT,)


def _ids(items: Any) -> list[str]:
    """The distinct string ids of a list of objects, in order (a merge may duplicate one)."""
    if not isinstance(items, list):
        return []
    ids = (item.get("id") for item in items if isinstance(item, Mapping))
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))


def output_pins(node_type: NodeType | None, data: Mapping[str, Any]) -> tuple[str, ...]:
    """The output pins of a node, given its JSON-form `data`.

    Subflow nodes show one `exit_<id>` pin per return exit of the referenced flow; that is
    derived from another document, so here a subflow has `output`, and `accepts_output` also
    takes any `exit_...` pin.
    """
    match node_type:
        case NodeType.EXIT | NodeType.JUMP | NodeType.ANNOTATION | None:
            return ()
        case NodeType.DIALOGUE:
            responses = _ids(data.get("responses"))
            return tuple(responses) if responses else (OUTPUT,)
        case NodeType.CONDITION:
            if data.get("switchMode") is not True:
                return ("true", "false")
            condition = data.get("condition")
            condition = condition if isinstance(condition, Mapping) else {}
            # HEAD conditions switch on blocks; pages-era ones ({logic, rules}) on rules.
            rules = _ids(condition.get("blocks")) or _ids(condition.get("rules"))
            return (*rules, DEFAULT)
        case _:
            return (OUTPUT,)


def accepts_output(node_type: NodeType | None, data: Mapping[str, Any], pin: str) -> bool:
    """Whether a connection may leave a node from `pin` (legacy pin aliases included)."""
    pins = output_pins(node_type, data)
    if pin in pins:
        return True
    if node_type is NodeType.DIALOGUE:
        for prefix in ("response_", "resp_"):
            if pin.startswith(prefix) and pin[len(prefix) :] in pins:
                return True
    return node_type is NodeType.SUBFLOW and pin.startswith("exit_")


_BY_VALUE = {node_type.value: node_type for node_type in NodeType}


def parse_type(value: Any) -> NodeType | None:
    """The NodeType named by `value`, or None if it names none."""
    return _BY_VALUE.get(value) if isinstance(value, str) else None
