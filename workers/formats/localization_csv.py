"""Localization exchange as CSV, one file per target locale: export, parse, and their format.

Columns: `key` (the runtime key of domain.md §1.9: `<source_type>.<stable ref>.<field>`, the
ref being a dialogue's `localizationId`, an exit's `technicalId`, `<page shortcut>.<variable>`
for a block or the page's shortcut, falling back to the id), `source_type`, `source_id`,
`field`, `speaker`, `source_text`, `translation`, `status`, `notes` (translator notes).

RFC 4180: comma separated, CRLF line ends, fields with commas, quotes or line breaks quoted and
quotes doubled; UTF-8. `export_csv(..., bom=True)` starts the file with a byte order mark, which
spreadsheet programs need to read UTF-8; `parse_csv` accepts both. Texts are written as they
are: a spreadsheet may read a cell starting with `=` as a formula, so open exports as text.

Importing is all or nothing: `parse_csv` returns either updates or the errors, each with its
line number, never a part of the file. `source_type`, `source_id` and `field` say what a row
translates; `key` is for people and tools and is not trusted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from crdt.views import SourceText, Status, flow_sources, page_sources
from crdt.views.blocks import slugify
from crdt.views.locales import is_locale_code
from crdt.views.translations import SourceType, TranslationKey
from workers.formats.project import FlowEntry, PageEntry, Project

COLUMNS = (
    "key",
    "source_type",
    "source_id",
    "field",
    "speaker",
    "source_text",
    "translation",
    "status",
    "notes",
)
REQUIRED = ("source_type", "source_id", "field", "translation", "status")
BOM = "\ufeff"
_STATUSES = {status.value: status for status in Status}
_SOURCE_TYPES = {kind.value: kind for kind in SourceType}


@dataclass(frozen=True, slots=True)
class Row:
    """One localizable text of the project, with its translation into one locale."""

    key: str
    source: SourceText
    speaker: str
    translation: str
    status: Status
    notes: str


def _stable_ref(source: SourceText, owner: FlowEntry | PageEntry) -> str:
    if isinstance(owner, FlowEntry):
        data = owner.data.nodes[source.source_id].data
        ref = data.get("localizationId") or data.get("technicalId")
        return ref if isinstance(ref, str) and ref else source.source_id
    if source.source_type is SourceType.PAGE:
        return owner.shortcut or owner.id
    block = owner.data.block(source.source_id)
    if owner.shortcut and block is not None and block.label:
        return f"{owner.shortcut}.{slugify(block.label)}"
    return source.source_id


def runtime_key(source: SourceText, owner: FlowEntry | PageEntry) -> str:
    return f"{source.source_type.value}.{_stable_ref(source, owner)}.{source.field}"


def rows(project: Project, locale: str) -> Iterator[Row]:
    """Every localizable text, flows first (in project order), then pages (by id)."""
    owners: list[tuple[FlowEntry | PageEntry, Iterator[SourceText]]] = [
        (flow, flow_sources(flow.data)) for flow in project.flows
    ]
    owners += [
        (page, page_sources(page.data, page.id, page.name))
        for page in sorted(project.pages.values(), key=lambda p: p.id)
    ]
    for owner, sources in owners:
        for source in sources:
            key = TranslationKey(source.source_type, source.source_id, source.field, locale)
            found = owner.translations.get(key)
            yield Row(
                key=runtime_key(source, owner),
                source=source,
                speaker=project.speaker_name(source.speaker) or "",
                translation=(found.text or "") if found else "",
                status=found.status if found else Status.PENDING,
                notes=(found.translator_notes or "") if found else "",
            )


def export_csv(project: Project, locale: str, *, bom: bool = False) -> bytes:
    """The project's texts and their `locale` translations as CSV bytes (UTF-8)."""
    if not is_locale_code(locale):
        raise ValueError(f"{locale!r} is not a locale code")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(project, locale):
        s = row.source
        writer.writerow(
            (
                row.key,
                s.source_type.value,
                s.source_id,
                s.field,
                row.speaker,
                s.text,
                row.translation,
                row.status.value,
                row.notes,
            )
        )
    return ((BOM if bom else "") + out.getvalue()).encode("utf-8")


@dataclass(frozen=True, slots=True)
class TranslationUpdate:
    key: TranslationKey
    text: str | None  # None: no translation (the cell was empty)
    status: Status
    notes: str | None
    source_text: str  # as exported, to tell a translation of an older source


@dataclass(frozen=True, slots=True)
class CsvError:
    line: int  # 1-based, the physical line the record starts on
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class ParsedCsv:
    updates: tuple[TranslationUpdate, ...]  # empty whenever `errors` is not
    errors: tuple[CsvError, ...]


def _update(
    record: dict[str, str], locale: str, line: int, errors: list[CsvError]
) -> TranslationUpdate | None:
    before = len(errors)
    source_type = _SOURCE_TYPES.get(record["source_type"].strip())
    if source_type is None:
        errors.append(CsvError(line, f"source_type {record['source_type']!r} is not known"))
    source_id, field = record["source_id"].strip(), record["field"].strip()
    for name, value in (("source_id", source_id), ("field", field)):
        if not value or ":" in value:
            errors.append(CsvError(line, f"{name} {value!r} is empty or has a ':'"))
    text = record["translation"]
    raw_status = record["status"].strip()
    status = _STATUSES.get(raw_status) if raw_status else None
    if raw_status and status is None:
        errors.append(CsvError(line, f"status {raw_status!r} is not a translation status"))
    if status is None:
        status = Status.DRAFT if text.strip() else Status.PENDING
    if status is Status.FINAL and not text.strip():
        errors.append(CsvError(line, "status final needs a translation"))
    if len(errors) > before or source_type is None:
        return None
    notes = record.get("notes") or ""
    return TranslationUpdate(
        key=TranslationKey(source_type, source_id, field, locale),
        text=text if text.strip() else None,
        status=status,
        notes=notes or None,
        source_text=record.get("source_text") or "",
    )


def parse_csv(data: bytes | str, locale: str) -> ParsedCsv:
    """Translation updates for `locale` from an edited export, or every error found."""
    if not is_locale_code(locale):
        raise ValueError(f"{locale!r} is not a locale code")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            return ParsedCsv((), (CsvError(1, f"not UTF-8: {err.reason}"),))
    data = data.removeprefix(BOM)
    reader = csv.reader(io.StringIO(data, newline=""), strict=True)
    errors: list[CsvError] = []
    updates: list[TranslationUpdate] = []
    seen: dict[TranslationKey, int] = {}
    try:
        header = [name.strip() for name in next(reader, [])]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            return ParsedCsv((), (CsvError(1, f"missing columns: {', '.join(missing)}"),))
        line = reader.line_num + 1
        for values in reader:
            if any(v.strip() for v in values):
                if len(values) != len(header):
                    errors.append(
                        CsvError(line, f"{len(values)} fields, the header has {len(header)}")
                    )
                else:
                    update = _update(dict(zip(header, values, strict=True)), locale, line, errors)
                    if update is not None and update.key in seen:
                        errors.append(CsvError(line, f"repeats line {seen[update.key]}"))
                    elif update is not None:
                        seen[update.key] = line
                        updates.append(update)
            line = reader.line_num + 1
    except csv.Error as err:
        errors.append(CsvError(reader.line_num, f"malformed CSV: {err}"))
    if errors:
        return ParsedCsv((), tuple(errors))
    return ParsedCsv(tuple(updates), ())
