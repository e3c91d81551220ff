"""Translations: the `translations` root of flow and page documents.

A Y.Map of key `"<sourceType>:<sourceId>:<field>:<locale>"` -> Y.Map {text, status,
translatorNotes}. Keeping translations in the document that holds their source makes them
travel with it (versions, restores, exports) and lets the relational projection be rebuilt from
documents alone. Status follows domain.md §1.9: pending -> draft -> in_progress -> review ->
final.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pycrdt import Doc, Map

from crdt.views._values import Problem, Problems, ViewError, by_key, root_map, to_y
from crdt.views.locales import is_locale_code

ROOT = "translations"


class Status(StrEnum):
    PENDING = "pending"
    DRAFT = "draft"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"
    FINAL = "final"


class SourceType(StrEnum):
    FLOW_NODE = "flow_node"
    BLOCK = "block"
    PAGE = "page"


_STATUSES = {status.value: status for status in Status}
_SOURCE_TYPES = {kind.value: kind for kind in SourceType}


@dataclass(frozen=True, slots=True)
class TranslationKey:
    source_type: SourceType
    source_id: str
    field: str  # e.g. "text", "response.<id>.text", "value.content", "name"
    locale: str

    def __str__(self) -> str:
        return f"{self.source_type.value}:{self.source_id}:{self.field}:{self.locale}"


def parse_key(raw: object) -> TranslationKey | None:
    """The key's parts, or None if it is not `<sourceType>:<sourceId>:<field>:<locale>`."""
    if not isinstance(raw, str):
        return None
    parts = raw.split(":")
    if len(parts) != 4 or not all(parts):
        return None
    source_type = _SOURCE_TYPES.get(parts[0])
    if source_type is None or not is_locale_code(parts[3]):
        return None
    return TranslationKey(source_type, parts[1], parts[2], parts[3])


@dataclass(frozen=True, slots=True)
class Translation:
    key: TranslationKey
    text: str | None
    status: Status
    translator_notes: str | None


@dataclass(frozen=True)
class TranslationData:
    translations: dict[TranslationKey, Translation]
    problems: tuple[Problem, ...]


def read_translations(doc: Doc[Any]) -> TranslationData:
    """Read every translation tolerantly; a malformed field is reported and left empty."""
    problems = Problems()
    found: dict[TranslationKey, Translation] = {}
    with doc.transaction():
        for raw_key, value in sorted(root_map(doc, ROOT).items(), key=by_key):
            path = f"{ROOT}/{raw_key}"
            key = parse_key(raw_key)
            if key is None:
                problems.add(path, "not a <sourceType>:<sourceId>:<field>:<locale> key")
                continue
            if not isinstance(value, Map):
                problems.add(path, "translation is not a map")
                continue
            raw_status = value.get("status")
            status = _STATUSES.get(raw_status) if isinstance(raw_status, str) else None
            if status is None:
                problems.add(path, f"status {raw_status!r} is not a translation status")
            found[key] = Translation(
                key=key,
                text=problems.string(value, "text", path),
                status=status or Status.PENDING,
                translator_notes=problems.string(value, "translatorNotes", path),
            )
    return TranslationData(found, tuple(problems.found))


def set_translation(
    doc: Doc[Any],
    key: TranslationKey,
    text: str | None,
    *,
    status: Status | str = Status.DRAFT,
    translator_notes: str | None = None,
    origin: int | None = None,
) -> None:
    """Write one translation (replacing the entry: translations are edited one at a time)."""
    parsed = _STATUSES.get(str(status))
    if parsed is None:
        raise ViewError(f"{status!r} is not a translation status")
    if parse_key(str(key)) != key:
        raise ViewError(f"{key} is not a valid translation key")
    with doc.transaction(origin=origin):
        root_map(doc, ROOT)[str(key)] = to_y(
            {"text": text, "status": parsed.value, "translatorNotes": translator_notes}
        )


def remove_translation(doc: Doc[Any], key: TranslationKey, *, origin: int | None = None) -> None:
    """Delete one translation."""
    with doc.transaction(origin=origin):
        translations = root_map(doc, ROOT)
        if str(key) not in translations:
            raise ViewError(f"translation {key} does not exist")
        del translations[str(key)]
