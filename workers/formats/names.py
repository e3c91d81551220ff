"""Identifiers for scripting languages: ASCII, `[A-Za-z_][A-Za-z0-9_]*`, unique per export.

Ink and Yarn share one namespace between knots/nodes, stitches and variables in practice (a
knot and a variable of the same name collide), so one `Namer` hands out every name of an export.
The same inputs, in the same order, always give the same names: exports should diff cleanly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")

# Words the languages give a meaning (ink's and Yarn's keywords and built-ins), case-insensitive.
_KEYWORDS = (
    "END",
    "DONE",
    "VAR",
    "CONST",
    "LIST",
    "INCLUDE",
    "EXTERNAL",
    "function",
    "return",
    "ref",
    "temp",
    "not",
    "and",
    "or",
    "mod",
    "true",
    "false",
    "else",
    "stopping",
    "cycle",
    "shuffle",
    "once",
    "has",
    "hasnt",
    "TURNS_SINCE",
    "CHOICE_COUNT",
    "TURNS",
    "READ_COUNT",
    "RANDOM",
    "SEED_RANDOM",
    "INT",
    "FLOOR",
    "FLOAT",
    "POW",
    "LIST_VALUE",
    "LIST_COUNT",
    "LIST_MIN",
    "LIST_MAX",
    "LIST_ALL",
    "LIST_INVERT",
    "LIST_RANDOM",
    "LIST_RANGE",
    "title",
    "if",
    "elseif",
    "endif",
    "set",
    "to",
    "declare",
    "jump",
    "detour",
    "stop",
    "wait",
    "call",
    "is",
    "eq",
    "neq",
    "gt",
    "lt",
    "gte",
    "lte",
    "xor",
    "null",
    "visited",
    "visited_count",
)
RESERVED = frozenset(word.lower() for word in _KEYWORDS)


def identifier(text: str, fallback: str = "x") -> str:
    """`text` as an ASCII identifier: accents dropped, other characters as `_`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = _NOT_IDENT.sub("_", ascii_text).strip("_")
    if not name:
        name = fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    return name


class Namer:
    """Hands out distinct identifiers: a taken or reserved name gets `_2`, `_3`, ..."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = {name.lower() for name in taken}

    def name(self, wanted: str, fallback: str = "x") -> str:
        base = identifier(wanted, fallback)
        candidate, n = base, 1
        # Case-insensitive: Yarn titles are, and "Tavern"/"tavern" would confuse readers.
        while candidate.lower() in self._taken or candidate.lower() in RESERVED:
            n += 1
            candidate = f"{base}_{n}"
        self._taken.add(candidate.lower())
        return candidate
