"""Conditions and instruction assignments (domain.md §1.7) as Ink or Yarn expressions.

A Storyarn variable is `<page shortcut>.<variable>`; scripts get one identifier per address.
Its type decides how literals are written (`"5"` compared to a number is the number 5); it comes
from the page block it names when the project has that page, else from how flows use it.
What a language cannot say (`is_nil`, dates, list variables, `starts_with`, ...) raises
`NotExpressible`: callers turn it into a warning and a comment, never into a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from crdt.views import BlockType, NodeType
from crdt.views.blocks import slugify
from workers.formats.names import Namer
from workers.formats.project import Project


class NotExpressible(Exception):
    """A condition or assignment the target language has no way to write."""


class Kind(StrEnum):
    NUMBER = "number"
    BOOL = "bool"
    STRING = "string"
    OTHER = "other"  # lists, dates, references: nothing we can write


@dataclass(frozen=True, slots=True)
class Dialect:
    variable_prefix: str
    contains: str | None  # the string-contains operator, if the language has one
    not_contains: str | None


INK = Dialect(variable_prefix="", contains="?", not_contains="!?")
YARN = Dialect(variable_prefix="$", contains=None, not_contains=None)

_BLOCK_KINDS = {
    BlockType.NUMBER: Kind.NUMBER,
    BlockType.BOOLEAN: Kind.BOOL,
    BlockType.TEXT: Kind.STRING,
    BlockType.RICH_TEXT: Kind.STRING,
    BlockType.SELECT: Kind.STRING,
}
_OPERATOR_KINDS = {
    "greater_than": Kind.NUMBER,
    "greater_than_or_equal": Kind.NUMBER,
    "less_than": Kind.NUMBER,
    "less_than_or_equal": Kind.NUMBER,
    "add": Kind.NUMBER,
    "subtract": Kind.NUMBER,
    "is_true": Kind.BOOL,
    "is_false": Kind.BOOL,
    "set_true": Kind.BOOL,
    "set_false": Kind.BOOL,
    "toggle": Kind.BOOL,
    "starts_with": Kind.STRING,
    "ends_with": Kind.STRING,
    "clear": Kind.STRING,
}
_COMPARISONS = {
    "equals": "==",
    "not_equals": "!=",
    "greater_than": ">",
    "greater_than_or_equal": ">=",
    "less_than": "<",
    "less_than_or_equal": "<=",
}
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
# Ink reads a quoted string as content (braces are logic, `#` a tag, `//` a comment, `->` a
# divert) and neither language has a quote escape every tool reads: such text is refused.
_UNSAFE_STRING = re.compile(r'["\\{}|#\[\]\r\n]|//|/\*|->|<-|<>')


def _field(item: Mapping[str, Any], *names: str) -> Any:
    return next((item[n] for n in names if item.get(n) not in (None, "")), None)


def address(item: Mapping[str, Any]) -> str | None:
    """`sheet.variable` of a rule or assignment (pages-era `page` key too), or None."""
    sheet, variable = _field(item, "sheet", "page"), _field(item, "variable")
    if not isinstance(sheet, str) or not isinstance(variable, str):
        return None
    return f"{sheet}.{variable}"


def value_address(item: Mapping[str, Any]) -> str | None:
    """The variable an assignment copies from, when its value is a variable reference."""
    if _field(item, "valueType", "value_type") != "variable_ref":
        return None
    sheet = _field(item, "valueSheet", "value_sheet", "valuePage", "value_page")
    value = item.get("value")
    return f"{sheet}.{value}" if isinstance(sheet, str) and isinstance(value, str) else None


def rules(condition: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    """Every rule of a condition, through blocks and groups (HEAD) or flat (pages era)."""
    if not isinstance(condition, Mapping):
        return
    for rule in condition.get("rules") or []:
        if isinstance(rule, Mapping):
            yield rule
    for block in condition.get("blocks") or []:
        if isinstance(block, Mapping):
            yield from rules(block)


def responses_of(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = data.get("responses")
    return [r for r in raw if isinstance(r, Mapping)] if isinstance(raw, list) else []


def assignments_of(items: Any) -> list[Mapping[str, Any]]:
    return [a for a in items if isinstance(a, Mapping)] if isinstance(items, list) else []


def _uses(project: Project) -> Iterator[Mapping[str, Any]]:
    """Every rule and assignment in the project's flows."""
    for flow in project.flows:
        for node in flow.data.nodes.values():
            if node.type is NodeType.CONDITION:
                condition = node.data.get("condition")
                yield from rules(condition if isinstance(condition, Mapping) else None)
            elif node.type is NodeType.INSTRUCTION:
                yield from assignments_of(node.data.get("assignments"))
            elif node.type is NodeType.DIALOGUE:
                for response in responses_of(node.data):
                    condition = response.get("condition")
                    yield from rules(condition if isinstance(condition, Mapping) else None)
                    yield from assignments_of(response.get("instructionAssignments"))


@dataclass(frozen=True)
class Variable:
    address: str
    name: str  # identifier, without the language's prefix
    kind: Kind
    initial: Any  # a Python value of `kind`


def _literal_kind(value: Any) -> Kind | None:
    if isinstance(value, bool):
        return Kind.BOOL
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        return Kind.NUMBER
    return Kind.STRING if isinstance(value, str) else None


_DEFAULTS: Mapping[Kind, Any] = {Kind.NUMBER: 0, Kind.BOOL: False, Kind.STRING: "", Kind.OTHER: 0}


def collect_variables(project: Project, namer: Namer) -> dict[str, Variable]:
    """The variables the project's flows read or write, by address, in address order."""
    blocks: dict[str, tuple[Kind, Any]] = {}
    for page in project.pages.values():
        if not page.shortcut:
            continue
        for block in page.data.blocks:
            kind = _BLOCK_KINDS.get(block.type, Kind.OTHER) if block.type else Kind.OTHER
            blocks[f"{page.shortcut}.{slugify(block.label)}"] = (kind, block.content)
    hints: dict[str, list[Kind]] = {}
    for use in _uses(project):
        for where in (address(use), value_address(use)):
            if where is not None:
                hints.setdefault(where, [])
        where = address(use)
        if where is None:
            continue
        operator_kind = _OPERATOR_KINDS.get(str(use.get("operator")))
        literal = _literal_kind(use.get("value")) if value_address(use) is None else None
        hints[where].extend(k for k in (operator_kind, literal) if k is not None)
    found: dict[str, Variable] = {}
    for where in sorted(hints):
        if where in blocks:
            kind, content = blocks[where]
        else:
            # An operator says more than a literal ("5" may be a select option's key).
            ordered = sorted(hints[where], key=lambda k: k is Kind.STRING)
            kind, content = (ordered[0] if ordered else Kind.STRING), None
        initial = content if _literal_kind(content) == kind else _DEFAULTS[kind]
        if kind is Kind.NUMBER and isinstance(initial, str):
            initial = float(initial)
        found[where] = Variable(where, namer.name(where.replace(".", "_"), "var"), kind, initial)
    return found


def literal(value: Any, kind: Kind) -> str:
    """A literal of `kind` in Ink/Yarn syntax (both agree on these)."""
    if kind is Kind.NUMBER and _literal_kind(value) is Kind.NUMBER:
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if kind is Kind.BOOL and isinstance(value, bool):
        return "true" if value else "false"
    if kind is Kind.BOOL and value in ("true", "false"):
        return str(value)
    if kind is Kind.STRING and isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
        if _UNSAFE_STRING.search(text):
            raise NotExpressible(f"the text {text!r} cannot be quoted")
        return f'"{text}"'
    raise NotExpressible(f"{value!r} is not a {kind.value} value")


class Expressions:
    """Writes conditions and assignments for one dialect over one set of variables."""

    def __init__(self, dialect: Dialect, variables: Mapping[str, Variable]) -> None:
        self.dialect = dialect
        self.variables = variables

    def _variable(self, where: str | None) -> Variable:
        variable = self.variables.get(where) if where else None
        if variable is None:
            raise NotExpressible("a rule or assignment names no variable")
        if variable.kind is Kind.OTHER:
            raise NotExpressible(f"{variable.address} is a list, date or reference")
        return variable

    def ref(self, variable: Variable) -> str:
        return f"{self.dialect.variable_prefix}{variable.name}"

    def rule(self, rule: Mapping[str, Any]) -> str:
        variable = self._variable(address(rule))
        ref, operator, value = self.ref(variable), str(rule.get("operator")), rule.get("value")
        if operator in _COMPARISONS:
            if operator not in ("equals", "not_equals") and variable.kind is not Kind.NUMBER:
                raise NotExpressible(f"{operator} on the non-number {variable.address}")
            return f"{ref} {_COMPARISONS[operator]} {literal(value, variable.kind)}"
        if operator in ("is_true", "is_false") and variable.kind is Kind.BOOL:
            return f"{ref} == {'true' if operator == 'is_true' else 'false'}"
        if operator == "is_empty" and variable.kind is Kind.STRING:
            return f'{ref} == ""'
        symbol = {"contains": self.dialect.contains, "not_contains": self.dialect.not_contains}
        if symbol.get(operator) and variable.kind is Kind.STRING:
            return f"{ref} {symbol[operator]} {literal(value, Kind.STRING)}"
        raise NotExpressible(f"operator {operator!r} on {variable.address}")

    def condition(self, condition: Mapping[str, Any] | None) -> str:
        """A boolean expression; an empty condition holds (as in Storyarn's player)."""
        if not isinstance(condition, Mapping):
            return "true"
        found = condition.get("rules") or []
        parts = [self.rule(rule) for rule in found if isinstance(rule, Mapping)]
        parts += [
            f"({self.condition(block)})"
            for block in condition.get("blocks") or []
            if isinstance(block, Mapping)
        ]
        if not parts:
            return "true"
        joiner = " or " if condition.get("logic") == "any" else " and "
        return joiner.join(parts)

    def assignment(self, assignment: Mapping[str, Any]) -> tuple[str, str]:
        """(target, expression) for `target = expression`."""
        variable = self._variable(address(assignment))
        ref, operator = self.ref(variable), str(assignment.get("operator"))
        source = value_address(assignment)
        if source is not None:
            value = self.ref(self._variable(source))
        elif operator in ("set", "add", "subtract"):
            value = literal(assignment.get("value"), variable.kind)
        else:
            value = ""
        match operator:
            case "set":
                return ref, value
            case "add" | "subtract" if variable.kind is Kind.NUMBER:
                return ref, f"{ref} {'+' if operator == 'add' else '-'} {value}"
            case "set_true" | "set_false" if variable.kind is Kind.BOOL:
                return ref, "true" if operator == "set_true" else "false"
            case "toggle" if variable.kind is Kind.BOOL:
                return ref, f"not {ref}"
            case "clear" if variable.kind is Kind.STRING:
                return ref, '""'
        raise NotExpressible(f"operator {operator!r} on {variable.address}")
