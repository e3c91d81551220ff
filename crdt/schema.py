"""Which roots each document kind may hold, and the check every client update passes first.

DESIGN.md §8 fixes the roots: a client update that introduces any other root, or uses a root as
the wrong shape (a Y.Map root written as a sequence, or the reverse), is refused before it
touches the Doc. Deeper shapes (node types, block types) are read through the typed views in
`crdt.views`; they are not enforced on the wire, because concurrent edits may legitimately pass
through states a single validator would call invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from crdt.errors import SchemaViolation
from crdt.update_reader import UpdateSummary


class DocKind(StrEnum):
    TREE = "tree"
    FLOW = "flows"
    PAGE = "pages"


class RootShape(Enum):
    MAP = "map"  # items carry a key (parentSub)
    SEQUENCE = "sequence"  # Y.Array, Y.Text, Y.XmlFragment: items carry none


@dataclass(frozen=True, slots=True)
class Schema:
    kind: DocKind
    roots: dict[str, RootShape]

    def check(self, summary: UpdateSummary) -> None:
        """Raise `SchemaViolation` if the update writes outside this kind's roots."""
        for name, use in summary.roots.items():
            shape = self.roots.get(name)
            if shape is None:
                raise SchemaViolation(f"root {name!r} is not part of a {self.kind.value} document")
            if shape is RootShape.MAP and use.sequential:
                raise SchemaViolation(f"root {name!r} is a map, written as a sequence")
            if shape is RootShape.SEQUENCE and use.keyed:
                raise SchemaViolation(f"root {name!r} is a sequence, written as a map")


SCHEMAS: dict[DocKind, Schema] = {
    DocKind.TREE: Schema(
        DocKind.TREE,
        {"pages": RootShape.MAP, "flows": RootShape.MAP, "locales": RootShape.MAP},
    ),
    DocKind.FLOW: Schema(
        DocKind.FLOW,
        {
            "meta": RootShape.MAP,
            "nodes": RootShape.MAP,
            "connections": RootShape.MAP,
            "translations": RootShape.MAP,
        },
    ),
    DocKind.PAGE: Schema(
        DocKind.PAGE,
        {
            "meta": RootShape.MAP,
            "blocks": RootShape.MAP,
            "blockOrder": RootShape.SEQUENCE,
            "translations": RootShape.MAP,
        },
    ),
}


@dataclass(frozen=True, slots=True)
class DocKey:
    """Which document: a project's tree, or one of its flows or pages."""

    project_id: str
    kind: DocKind
    doc_id: str = ""  # empty for the tree: one per project

    @property
    def name(self) -> str:
        if self.kind is DocKind.TREE:
            return f"projects/{self.project_id}/tree"
        return f"projects/{self.project_id}/{self.kind.value}/{self.doc_id}"

    @property
    def schema(self) -> Schema:
        return SCHEMAS[self.kind]
