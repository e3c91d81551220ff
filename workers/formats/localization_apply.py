"""Writing imported translations into a flow or page document's `translations` root.

A row is applied only while its source still reads as it did when exported: a translation of
an older text would silently pass for a translation of the new one (Storyarn's CSV import
checks the source hash the same way). Every write goes through `crdt.views.set_translation`,
in one transaction, so peers receive the import as one update.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from crdt.schema import DocKind
from crdt.views import (
    SourceText,
    Status,
    Translation,
    TranslationKey,
    flow_sources,
    page_sources,
    read_flow,
    read_page,
    read_translations,
    set_translation,
)
from workers.formats.localization_csv import TranslationUpdate


@dataclass(frozen=True)
class ApplyResult:
    applied: tuple[TranslationKey, ...]
    unchanged: tuple[TranslationKey, ...]  # already so in the document: nothing written
    stale: tuple[TranslationKey, ...]  # the source text changed since the export
    elsewhere: tuple[TranslationKey, ...]  # not a text of this document (another doc's row)


def _same_text(a: str, b: str) -> bool:
    # Spreadsheets rewrite line ends inside cells; that is not a new source text.
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


def _unchanged(update: TranslationUpdate, stored: Translation | None) -> bool:
    if stored is None:
        return update.text is None and update.notes is None and update.status is Status.PENDING
    return (stored.text or None, stored.status, stored.translator_notes or None) == (
        update.text,
        update.status,
        update.notes,
    )


def document_sources(
    doc: Doc[Any], kind: DocKind, doc_id: str, name: str | None = None
) -> list[SourceText]:
    """The localizable texts of a flow or page document (a page's `name` from its meta when
    the tree's name is not given)."""
    if kind is DocKind.FLOW:
        return list(flow_sources(read_flow(doc)))
    if kind is DocKind.PAGE:
        page = read_page(doc)
        meta_name = page.meta.get("name")
        fallback = meta_name if isinstance(meta_name, str) else None
        return list(page_sources(page, doc_id, name or fallback))
    raise ValueError(f"{kind.value} documents hold no translations")


def apply_updates(
    doc: Doc[Any],
    kind: DocKind,
    doc_id: str,
    updates: Iterable[TranslationUpdate],
    *,
    name: str | None = None,
    origin: int | None = None,
) -> ApplyResult:
    """Apply the updates that belong to this document; report the stale and foreign ones."""
    current = {
        (s.source_type, s.source_id, s.field): s.text
        for s in document_sources(doc, kind, doc_id, name)
    }
    stored = read_translations(doc).translations
    applied: list[TranslationKey] = []
    unchanged: list[TranslationKey] = []
    stale: list[TranslationKey] = []
    elsewhere: list[TranslationKey] = []
    with doc.transaction(origin=origin):
        for update in updates:
            key = update.key
            text = current.get((key.source_type, key.source_id, key.field))
            if text is None:
                elsewhere.append(key)
            elif update.source_text and not _same_text(update.source_text, text):
                stale.append(key)
            elif _unchanged(update, stored.get(key)):
                # Re-importing an export must not write an entry for every untouched row.
                unchanged.append(key)
            else:
                set_translation(
                    doc,
                    key,
                    update.text,
                    status=update.status,
                    translator_notes=update.notes,
                    origin=origin,
                )
                applied.append(key)
    return ApplyResult(tuple(applied), tuple(unchanged), tuple(stale), tuple(elsewhere))
