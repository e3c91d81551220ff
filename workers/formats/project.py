"""A project's documents, read once through `crdt.views`, as the input of every text format.

Formats need the whole project at once: a dialogue's speaker is a page, a subflow or exit names
another flow, and variables live on pages. Names and shortcuts come from the tree document,
falling back to each document's `meta` when the tree does not list it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc

from crdt.schema import DocKind
from crdt.views import (
    FlowData,
    LocaleData,
    PageData,
    Translation,
    TranslationKey,
    TreeData,
    json_to_flow,
    json_to_page,
    json_to_tree,
    read_flow,
    read_locales,
    read_page,
    read_translations,
    read_tree,
)


@dataclass(frozen=True)
class FlowEntry:
    id: str
    name: str
    shortcut: str | None
    is_main: bool
    data: FlowData
    translations: Mapping[TranslationKey, Translation]


@dataclass(frozen=True)
class PageEntry:
    id: str
    name: str
    shortcut: str | None
    data: PageData
    translations: Mapping[TranslationKey, Translation]


@dataclass(frozen=True)
class Project:
    flows: tuple[FlowEntry, ...]  # main flow first, then by name and id
    pages: Mapping[str, PageEntry]
    page_names: Mapping[str, str]  # every page the tree lists, loaded or not
    locales: LocaleData | None = None
    problems: tuple[str, ...] = field(default=())

    def flow(self, flow_id: object) -> FlowEntry | None:
        return next((f for f in self.flows if f.id == flow_id), None)

    def speaker_name(self, page_id: object) -> str | None:
        """The display name of a speaking page, or None when it is unknown."""
        if not isinstance(page_id, str) or not page_id:
            return None
        page = self.pages.get(page_id)
        return page.name if page is not None else self.page_names.get(page_id)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_project(
    tree: Doc[Any] | None,
    flows: Mapping[str, Doc[Any]],
    pages: Mapping[str, Doc[Any]] | None = None,
) -> Project:
    """Read a project from its Docs: the tree (optional) and flow and page Docs by id."""
    tree_data: TreeData | None = read_tree(tree) if tree is not None else None
    tree_items = tree_data.items if tree_data is not None else {}
    flow_items = tree_items.get(DocKind.FLOW, {})
    page_items = tree_items.get(DocKind.PAGE, {})
    problems: list[str] = []
    flow_entries: list[FlowEntry] = []
    for flow_id, doc in flows.items():
        data = read_flow(doc)
        item = flow_items.get(flow_id)
        flow_entries.append(
            FlowEntry(
                id=flow_id,
                name=(item.name if item else None) or _text(data.meta.get("name")) or flow_id,
                shortcut=(item.shortcut if item else None) or _text(data.meta.get("shortcut")),
                is_main=data.meta.get("isMain") is True,
                data=data,
                translations=read_translations(doc).translations,
            )
        )
        problems.extend(f"flow {flow_id}: {p}" for p in data.problems)
    page_entries: dict[str, PageEntry] = {}
    for page_id, doc in (pages or {}).items():
        page = read_page(doc)
        item = page_items.get(page_id)
        page_entries[page_id] = PageEntry(
            id=page_id,
            name=(item.name if item else None) or _text(page.meta.get("name")) or page_id,
            shortcut=(item.shortcut if item else None) or _text(page.meta.get("shortcut")),
            data=page,
            translations=read_translations(doc).translations,
        )
    flow_entries.sort(key=lambda f: (not f.is_main, f.name, f.id))
    return Project(
        flows=tuple(flow_entries),
        pages=page_entries,
        page_names={page_id: item.name for page_id, item in page_items.items()},
        locales=read_locales(tree) if tree is not None else None,
        problems=tuple(problems),
    )


def project_from_json(
    tree: Mapping[str, Any] | None,
    flows: Mapping[str, Mapping[str, Any]],
    pages: Mapping[str, Mapping[str, Any]] | None = None,
) -> Project:
    """The same from the JSON forms (`tree_to_json`, `flow_to_json`, `page_to_json`)."""
    return read_project(
        json_to_tree(tree) if tree is not None else None,
        {flow_id: json_to_flow(data) for flow_id, data in flows.items()},
        {page_id: json_to_page(data) for page_id, data in (pages or {}).items()},
    )
