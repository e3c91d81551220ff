"""Projection of one document into relational rows: a pure function of its Doc.

`project_tree`, `project_flow` and `project_page` read a pycrdt Doc through `crdt.views` and
return a `Projection`: rows per table (without `document_id` and `seq`, which the writer adds)
and the `Flag`s of every repair made. No I/O, so the projector can run it off the event loop
and tests can check it on any Doc.

Documents may hold what a relational schema refuses (concurrent edits merge into cycles, two
entry nodes, dangling connections; a misbehaving client writes anything). The repairs are
deterministic, decided by ids only, so every instance projects the same rows; they are listed
in docs/database.md ("Repair rules") and never raise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc

from crdt.schema import DocKind
from crdt.views import (
    FlowData,
    NodeType,
    PageData,
    Problem,
    SourceText,
    SourceType,
    Status,
    flow_sources,
    page_sources,
    read_flow,
    read_locales,
    read_page,
    read_translations,
    read_tree,
)
from crdt.views.mentions import flow_mentions, page_mentions
from crdt.views.translations import TranslationData, TranslationKey

MAX_FLAGS = 200  # per document: a broken document must not make its state row huge
_ID = 64
_NAME = 200
_POSITION = 200
_SHORTCUT = 64
_PIN = 100
_LABEL = 200


@dataclass(frozen=True, slots=True)
class Flag:
    """One repair (or reported oddity): what was done, where, and why."""

    code: str  # see docs/database.md, "Repair rules"
    path: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "detail": self.detail}


@dataclass(frozen=True)
class ProjectContext:
    """What a flow or page projection needs from the project's tree document."""

    seq: int = 0  # the tree projection these values come from
    source_locale: str | None = None
    target_locales: tuple[str, ...] = ()
    page_names: Mapping[str, str] = field(default_factory=dict)
    flow_titles: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)


@dataclass
class Projection:
    rows: dict[str, list[dict[str, Any]]]  # table name -> rows
    flags: list[Flag] = field(default_factory=list)
    context_seq: int = 0

    def flag(self, code: str, path: str, detail: str) -> None:
        self.flags.append(Flag(code, path, detail))

    def flags_json(self) -> dict[str, Any]:
        kept = [f.to_json() for f in self.flags[:MAX_FLAGS]]
        return {"flags": kept, "more": max(0, len(self.flags) - MAX_FLAGS)}


def _fits(value: str | None, limit: int) -> bool:
    return value is None or len(value) <= limit


def _fit(value: str | None, limit: int, path: str, what: str, out: Projection) -> str | None:
    """`value` if the column can hold it; otherwise null, flagged (a malformed value)."""
    if _fits(value, limit):
        return value
    out.flag("malformed", path, f"{what} is longer than {limit} characters: left out")
    return None


def _storable(value: Any) -> tuple[Any, bool]:
    """`value` as every database stores it, and whether it had to change.

    Postgres refuses NUL characters in text and NaN or infinities in JSON, and a client can
    write either: they would fail the whole projection on every retry.
    """
    if isinstance(value, str):
        return (value.replace("\x00", ""), True) if "\x00" in value else (value, False)
    if isinstance(value, float):
        return (value, False) if math.isfinite(value) else (None, True)
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            clean_key, key_changed = _storable(key)
            out[clean_key], item_changed = _storable(item)
            changed = changed or key_changed or item_changed
        return (out, True) if changed else (value, False)
    if isinstance(value, list):
        pairs = [_storable(item) for item in value]
        if any(changed for _, changed in pairs):
            return [item for item, _ in pairs], True
    return value, False


def _make_storable(out: Projection) -> None:
    for table, rows in out.rows.items():
        for row in rows:
            for column, value in row.items():
                clean, changed = _storable(value)
                if changed:
                    row[column] = clean
                    where = f"{table}/{row.get('id') or row.get('source_id') or ''}/{column}"
                    out.flag("malformed", where, "NUL characters or non-finite numbers removed")


def _report(problems: Iterable[Problem], out: Projection) -> None:
    for problem in problems:
        out.flag("problem", problem.path, problem.message)


# -- the tree ---------------------------------------------------------------------------------


def project_tree(doc: Doc[Any], project_id: str) -> Projection:
    """Rows of `tree_entries` and `project_locales` from the project's tree document."""
    tree = read_tree(doc)
    locales = read_locales(doc)
    out = Projection({"tree_entries": [], "project_locales": []})
    _report(tree.problems, out)
    _report(locales.problems, out)
    for kind in (DocKind.PAGE, DocKind.FLOW):
        shortcuts: dict[str, str] = {}
        for item in sorted(tree.items[kind].values(), key=lambda item: item.id):
            path = f"{kind.value}/{item.id}"
            if not _fits(item.id, _ID):
                out.flag("malformed", path, "id is too long: item left out")
                continue
            parent = tree.parent_of(kind, item.id)
            if parent != item.parent_id:
                code = "tree_cycle" if item.id in tree.cycles else "orphan_parent"
                out.flag(code, path, f"parent {item.parent_id!r} cut: shown as a root")
            if not _fits(parent, _ID):  # the parent itself was left out (its id is too long)
                out.flag("orphan_parent", path, "parent left out: shown as a root")
                parent = None
            shortcut = item.shortcut
            if shortcut and item.deleted_at is None:
                owner = shortcuts.setdefault(shortcut, item.id)
                if owner != item.id:
                    out.flag("duplicate_shortcut", path, f"shortcut {shortcut!r} kept by {owner}")
                    shortcut = None
            if not item.position:
                out.flag("malformed", path, "position is missing or malformed: sorts first")
            out.rows["tree_entries"].append(
                {
                    "project_id": project_id,
                    "kind": "page" if kind is DocKind.PAGE else "flow",
                    "id": item.id,
                    "parent_id": parent or "",
                    "position": _fit(item.position, _POSITION, path, "position", out) or "",
                    "name": _fit(item.name or None, _NAME, path, "name", out),
                    "shortcut": _fit(shortcut or None, _SHORTCUT, path, "shortcut", out),
                    "deleted": item.deleted_at is not None,
                }
            )
    for locale in locales.locales:
        out.rows["project_locales"].append(
            {
                "project_id": project_id,
                "locale_code": locale.code,
                "name": _fit(locale.name, 100, f"locales/{locale.code}", "name", out)
                or locale.code,
                "is_source": locale.code == locales.source,
                "position": locale.position,
            }
        )
    _make_storable(out)
    return out


# -- localization, shared by flows and pages ---------------------------------------------------


def _localized_rows(
    sources: Iterable[SourceText],
    translations: TranslationData,
    context: ProjectContext,
    base: Mapping[str, Any],
    out: Projection,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for source in sources:
        path = f"{source.source_type.value}/{source.source_id}/{source.field}"
        if not _fits(source.source_id, _ID) or not _fits(source.field, 200):
            out.flag("malformed", path, "id too long: text not localized")
            continue
        common = {
            **base,
            "source_type": source.source_type.value,
            "source_id": source.source_id,
            "source_field": source.field,
            "source_text": source.text,
            "speaker": source.speaker if _fits(source.speaker, _ID) else None,
            "word_count": source.word_count,
        }
        if context.source_locale is not None:
            # The source locale's row carries the text itself: it is its own final version.
            rows.append(
                {
                    **common,
                    "locale_code": context.source_locale,
                    "translated_text": source.text,
                    "status": Status.FINAL.value,
                    "translator_notes": None,
                }
            )
        for locale in context.target_locales:
            key = TranslationKey(source.source_type, source.source_id, source.field, locale)
            found = translations.translations.get(key)
            rows.append(
                {
                    **common,
                    "locale_code": locale,
                    "translated_text": found.text if found else None,
                    "status": found.status.value if found else Status.PENDING.value,
                    "translator_notes": found.translator_notes if found else None,
                }
            )
    return rows


def _target_type(raw: Any) -> str | None:
    """`sheet` is the application's later name for a page (domain.md, naming map)."""
    if raw in ("page", "sheet"):
        return "page"
    if raw == "flow":
        return "flow"
    return None


def _reference(
    source_type: SourceType, source_id: str, target_type: Any, target_id: Any, context: str
) -> tuple[str, str, str, str, str] | None:
    kind = _target_type(target_type)
    if kind is None or not isinstance(target_id, str) or not target_id:
        return None
    if not _fits(target_id, _ID) or not _fits(source_id, _ID):
        return None
    return (source_type.value, source_id, kind, target_id, context)


def _reference_rows(
    found: Iterable[tuple[str, str, str, str, str] | None], base: Mapping[str, Any]
) -> list[dict[str, Any]]:
    unique = sorted({ref for ref in found if ref is not None})
    keys = ("source_type", "source_id", "target_type", "target_id", "context")
    return [{**base, **dict(zip(keys, ref, strict=True))} for ref in unique]


# -- flows --------------------------------------------------------------------------------------


def _flow_references(
    flow: FlowData, kept: set[str], mentions: Mapping[str, list[tuple[str, str]]]
) -> list[tuple[str, str, str, str, str] | None]:
    refs: list[tuple[str, str, str, str, str] | None] = []
    node_type = SourceType.FLOW_NODE
    for node_id, named in mentions.items():
        if node_id in kept:
            refs.extend(_reference(node_type, node_id, t, i, "dialogue") for t, i in named)
    for node in flow.nodes.values():
        if node.id not in kept:
            continue
        data = node.data
        if node.type is NodeType.DIALOGUE:
            refs.append(
                _reference(node_type, node.id, "page", data.get("speakerSheetId"), "speaker")
            )
        elif node.type is NodeType.SUBFLOW:
            refs.append(
                _reference(node_type, node.id, "flow", data.get("referencedFlowId"), "subflow")
            )
        elif node.type is NodeType.EXIT:
            refs.append(
                _reference(node_type, node.id, "flow", data.get("referencedFlowId"), "exit")
            )
            refs.append(
                _reference(
                    node_type, node.id, data.get("targetType"), data.get("targetId"), "target"
                )
            )
    return refs


def project_flow(
    doc: Doc[Any], project_id: str, flow_id: str, context: ProjectContext
) -> Projection:
    """Rows of `flows`, `flow_nodes`, `flow_connections`, `localized_texts` and
    `entity_references` from one flow document."""
    flow = read_flow(doc)
    translations = read_translations(doc)
    out = Projection(
        {
            "flows": [],
            "flow_nodes": [],
            "flow_connections": [],
            "localized_texts": [],
            "entity_references": [],
        },
        context_seq=context.seq,
    )
    _report(flow.problems, out)
    _report(translations.problems, out)
    odd = {(p.path, p.message) for p in flow.problems}
    entries = sorted(n.id for n in flow.nodes.values() if n.type is NodeType.ENTRY)
    kept: set[str] = set()
    for node in sorted(flow.nodes.values(), key=lambda n: n.id):
        path = f"nodes/{node.id}"
        if node.type is NodeType.ENTRY and node.id != entries[0]:
            out.flag("extra_entry", path, f"a second entry node: {entries[0]} is the entry")
            continue
        if not _fits(node.id, _ID):
            out.flag("malformed", path, "id is too long: node left out")
            continue
        kept.add(node.id)
        out.rows["flow_nodes"].append(
            {
                "id": node.id,
                "flow_id": flow_id,
                "type": node.type.value if node.type is not None else None,
                # The reader reads a malformed x or y as 0.0, and says so in these words.
                "x": None if (path, "x is not a number") in odd else node.x,
                "y": None if (path, "y is not a number") in odd else node.y,
                "data": dict(node.data),
            }
        )
    seen: dict[tuple[str, str, str, str], str] = {}
    for conn in sorted(flow.connections.values(), key=lambda c: c.id):
        path = f"connections/{conn.id}"
        ends = (conn.source_node_id, conn.target_node_id)
        key = (conn.source_node_id, conn.source_pin, conn.target_node_id, conn.target_pin)
        reason = None
        if not all(end in kept for end in ends):
            reason = "a node it connects is missing or left out"
        elif conn.source_node_id == conn.target_node_id:
            reason = "it connects a node to itself"
        elif key in seen:
            reason = f"it duplicates {seen[key]}"
        elif not (
            _fits(conn.id, _ID) and _fits(conn.source_pin, _PIN) and _fits(conn.target_pin, _PIN)
        ):
            reason = "an id or pin is too long"
        if reason is not None:
            out.flag("dropped_connection", path, f"dropped: {reason}")
            continue
        seen[key] = conn.id
        out.rows["flow_connections"].append(
            {
                "id": conn.id,
                "flow_id": flow_id,
                "source_node_id": conn.source_node_id,
                "source_pin": conn.source_pin,
                "target_node_id": conn.target_node_id,
                "target_pin": conn.target_pin,
                "label": _fit(conn.label, _LABEL, path, "label", out),
            }
        )
    meta = flow.meta
    # The sidebar (the tree) names flows; `meta` only for a flow the tree does not list.
    name, shortcut = context.flow_titles.get(flow_id) or (
        _str(meta, "name", "meta", out),
        _str(meta, "shortcut", "meta", out),
    )
    out.rows["flows"].append(
        {
            "project_id": project_id,
            "id": flow_id,
            "name": _fit(name, _NAME, "meta", "name", out),
            "shortcut": _fit(shortcut, _SHORTCUT, "meta", "shortcut", out),
            "description": _str(meta, "description", "meta", out),
            "is_main": meta.get("isMain") is True,
            "entry_node_id": entries[0] if entries and entries[0] in kept else None,
            "node_count": len(out.rows["flow_nodes"]),
            "connection_count": len(out.rows["flow_connections"]),
        }
    )
    base = {"project_id": project_id, "doc_kind": DocKind.FLOW.value, "doc_id": flow_id}
    sources = (s for s in flow_sources(flow) if s.source_id in kept)
    out.rows["localized_texts"] = _localized_rows(sources, translations, context, base, out)
    refs = _flow_references(flow, kept, flow_mentions(doc))
    out.rows["entity_references"] = _reference_rows(refs, base)
    _make_storable(out)
    return out


def _str(meta: Mapping[str, Any], key: str, path: str, out: Projection) -> str | None:
    value = meta.get(key)
    if value is None or isinstance(value, str):
        return value or None
    out.flag("malformed", path, f"{key} is not a string: left out")
    return None


# -- pages --------------------------------------------------------------------------------------


def _page_references(
    page: PageData, mentions: Mapping[str, list[tuple[str, str]]]
) -> list[tuple[str, str, str, str, str] | None]:
    refs = [
        _reference(
            SourceType.BLOCK,
            block.id,
            block.value.get("targetType"),
            block.value.get("targetId"),
            "value",
        )
        for block in page.blocks
        if block.type is not None and block.type.value == "reference"
    ]
    for block_id, named in mentions.items():
        refs.extend(_reference(SourceType.BLOCK, block_id, t, i, "content") for t, i in named)
    return refs


def project_page(
    doc: Doc[Any], project_id: str, page_id: str, context: ProjectContext
) -> Projection:
    """Rows of `localized_texts` and `entity_references` from one page document.

    The page's name comes from the tree (where the sidebar edits it), or from the page's own
    `meta.name` for a page the tree does not list.
    """
    page = read_page(doc)
    translations = read_translations(doc)
    out = Projection({"localized_texts": [], "entity_references": []}, context_seq=context.seq)
    _report(page.problems, out)
    _report(translations.problems, out)
    name = context.page_names.get(page_id) or _str(page.meta, "name", "meta", out)
    base = {"project_id": project_id, "doc_kind": DocKind.PAGE.value, "doc_id": page_id}
    sources = page_sources(page, page_id, name)
    out.rows["localized_texts"] = _localized_rows(sources, translations, context, base, out)
    refs = _page_references(page, page_mentions(doc))
    out.rows["entity_references"] = _reference_rows(refs, base)
    _make_storable(out)
    return out
