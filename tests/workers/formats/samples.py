"""A small project whose flows use every node type, shared by the format tests.

Paths through "The Tavern" (choice indices as the player picks them):
- [0, 0, 0, 1]: ale, story, happy end (back to the bar hub through a jump), leave -> end
- [0, 0, 1]: ale, story, sad end -> "Oh no." -> end
- [1]: goodbye -> switch default -> "Come back soon ..." -> end
"""

from __future__ import annotations

from typing import Any

from crdt.views import json_to_flow, json_to_page, json_to_tree, set_locale, set_translation
from crdt.views.translations import SourceType, TranslationKey
from workers.formats.project import Project, read_project

TRICKY = "Come back soon -> {really} #1 // [ok] | \\o/ a/*b*/"


def rule(variable: str, operator: str, value: Any = None, rule_id: str = "r") -> dict[str, Any]:
    return {
        "id": rule_id,
        "sheet": "mc.jaime",
        "variable": variable,
        "operator": operator,
        "value": value,
        "label": None,
    }


def when(*rules: dict[str, Any], block_id: str = "blk", logic: str = "all") -> dict[str, Any]:
    return {
        "logic": logic,
        "blocks": [{"id": block_id, "type": "block", "logic": "all", "rules": list(rules)}],
    }


def assign(variable: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {
        "id": "assign_1",
        "sheet": "mc.jaime",
        "variable": variable,
        "operator": operator,
        "value": value,
        "valueType": "literal",
        "valueSheet": None,
    }


def response(rid: str, text: str, condition: Any = None, assigns: Any = ()) -> dict[str, Any]:
    return {
        "id": rid,
        "text": text,
        "condition": condition,
        "instruction": "",
        "instructionAssignments": list(assigns),
    }


def dialogue(
    text: str, speaker: str | None, *responses: dict[str, Any], loc: str = ""
) -> dict[str, Any]:
    return {
        "speakerSheetId": speaker,
        "avatarId": None,
        "audioAssetId": None,
        "text": text,
        "stageDirections": "",
        "menuText": "",
        "technicalId": "",
        "localizationId": loc or f"dialogue_{abs(hash(text)) % 10**8}",
        "responses": list(responses),
    }


def exit_(mode: str = "terminal", label: str = "", flow: str | None = None) -> dict[str, Any]:
    return {
        "label": label,
        "technicalId": "",
        "outcomeTags": [],
        "outcomeColor": "#22c55e",
        "exitMode": mode,
        "referencedFlowId": flow,
        "targetType": None,
        "targetId": None,
    }


def node(node_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": node_type, "x": 0, "y": 0, "data": data}


def wire(*edges: tuple[str, str, str]) -> dict[str, Any]:
    return {
        f"c{i}": {
            "sourceNodeId": s,
            "sourcePin": pin,
            "targetNodeId": t,
            "targetPin": "input",
            "label": None,
        }
        for i, (s, pin, t) in enumerate(edges)
    }


TAVERN = {
    "meta": {"name": "The Tavern", "isMain": True},
    "nodes": {
        "e": node("entry", {}),
        "d1": node(
            "dialogue",
            dialogue(
                "<p>Welcome, traveler!</p><p>What'll it be?</p>",
                "p_inn",
                response(
                    "r1",
                    "Ale please",
                    None,
                    [assign("health", "add", 5), assign("met", "set_true")],
                ),
                response("r2", "Goodbye"),
                response(
                    "r3", "Check the calendar", when(rule("birthday", "before", "2020-01-01"))
                ),
                loc="dialogue_d1",
            ),
        ),
        "h1": node("hub", {"hubId": "bar", "label": "bar", "color": "#be185d"}),
        "d2": node(
            "dialogue",
            dialogue(
                "<p>Cheers!</p>",
                "p_jaime",
                response("ra", "Tell me a story", when(rule("met", "is_true"))),
                response("rb", "Leave"),
                loc="dialogue_d2",
            ),
        ),
        "s1": node("subflow", {"referencedFlowId": "f_side"}),
        "j1": node("jump", {"targetHubId": "bar"}),
        "d8": node("dialogue", dialogue("<p>Oh no.</p>", "p_jaime", loc="dialogue_d8")),
        "c1": node(
            "condition",
            {"condition": when(rule("health", "greater_than", "12")), "switchMode": False},
        ),
        "sw": node(
            "condition",
            {
                "condition": {
                    "logic": "all",
                    "blocks": [
                        {
                            "id": "k1",
                            "type": "block",
                            "logic": "all",
                            "rules": [rule("health", "greater_than_or_equal", 15)],
                        },
                        {
                            "id": "k2",
                            "type": "block",
                            "logic": "all",
                            "rules": [rule("met", "is_true")],
                        },
                    ],
                },
                "switchMode": True,
            },
        ),
        "d4": node(
            "dialogue",
            dialogue(f"<p>{TRICKY.replace('<', '&lt;')}</p>", "p_inn", loc="dialogue_d4"),
        ),
        "i1": node(
            "instruction",
            {"assignments": [assign("nickname", "set", "Friend")], "description": "name them"},
        ),
        "x1": node("exit", exit_(label="The end")),
        "x2": node("exit", exit_(label="Broke")),
        "a1": node(
            "annotation", {"text": "Remember the ale", "color": "#fbbf24", "fontSize": "md"}
        ),
    },
    "connections": wire(
        ("e", "output", "d1"),
        ("d1", "r1", "i1"),
        ("i1", "output", "h1"),
        ("h1", "output", "d2"),
        ("d2", "ra", "s1"),
        ("s1", "exit_x3", "j1"),
        ("s1", "exit_x4", "d8"),
        ("d8", "output", "x1"),
        ("d2", "rb", "c1"),
        ("c1", "true", "x1"),
        ("c1", "false", "x2"),
        ("d1", "r2", "sw"),
        ("sw", "k1", "x1"),
        ("sw", "k2", "x1"),
        ("sw", "default", "d4"),
        ("d4", "output", "x1"),
    ),
}

SIDE = {
    "meta": {"name": "Side Quest", "shortcut": "side"},
    "nodes": {
        "e": node("entry", {}),
        "d6": node(
            "dialogue",
            dialogue(
                "<p>Once upon a time</p>",
                "p_jaime",
                response("h", "Happy end"),
                response("s", "Sad end"),
                loc="dialogue_d6",
            ),
        ),
        "x3": node("exit", exit_("caller_return", "happy")),
        "x4": node("exit", exit_("caller_return", "sad")),
    },
    "connections": wire(("e", "output", "d6"), ("d6", "h", "x3"), ("d6", "s", "x4")),
}

JAIME = {
    "meta": {"name": "Jaime"},
    "blocks": {
        "b1": {
            "type": "number",
            "config": {
                "label": "Health",
                "min": None,
                "max": None,
                "placeholder": "",
                "step": None,
            },
            "value": {"content": 10},
        },
        "b2": {
            "type": "boolean",
            "config": {"label": "Met", "mode": "two_state"},
            "value": {"content": False},
        },
        "b3": {
            "type": "text",
            "config": {"label": "Nickname", "placeholder": ""},
            "value": {"content": "Stranger"},
        },
        "b4": {"type": "date", "config": {"label": "Birthday"}, "value": {"content": None}},
    },
    "blockOrder": ["b1", "b2", "b3", "b4"],
}

TREE = {
    "pages": {
        "p_jaime": {
            "name": "Jaime",
            "shortcut": "mc.jaime",
            "parentId": None,
            "position": "V",
            "deletedAt": None,
        },
        "p_inn": {
            "name": "Innkeeper",
            "shortcut": None,
            "parentId": None,
            "position": "W",
            "deletedAt": None,
        },
    },
    "flows": {
        "f_main": {
            "name": "The Tavern",
            "shortcut": "loc.tavern",
            "parentId": None,
            "position": "V",
            "deletedAt": None,
        },
        "f_side": {
            "name": "Side Quest",
            "shortcut": "side",
            "parentId": None,
            "position": "W",
            "deletedAt": None,
        },
    },
}


def sample_docs() -> tuple[Any, dict[str, Any], dict[str, Any]]:
    tree = json_to_tree(TREE)
    set_locale(tree, "en", "English", is_source=True)
    set_locale(tree, "es", "Spanish")
    flows = {"f_main": json_to_flow(TAVERN), "f_side": json_to_flow(SIDE)}
    pages = {"p_jaime": json_to_page(JAIME)}
    set_translation(
        flows["f_main"],
        TranslationKey(SourceType.FLOW_NODE, "d1", "text", "es"),
        "¡Bienvenido, viajero!\n¿Qué va a ser?",
        status="final",
    )
    return tree, flows, pages


def sample_project() -> Project:
    tree, flows, pages = sample_docs()
    return read_project(tree, flows, pages)
