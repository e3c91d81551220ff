"""The project's languages: the tree document's `locales` root.

`locales` is a Y.Map of locale code -> Y.Map {name, isSource, position} (domain.md §1.9,
`project_languages`). Exactly one locale should be the source; concurrent edits can leave none
or two, so the reader picks deterministically (the first source by code) and reports it. Codes
follow `^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`, at most 35 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map

from crdt.views._values import Problem, Problems, ViewError, by_key, is_number, root_map, to_y

ROOT = "locales"
_CODE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
MAX_CODE = 35


def is_locale_code(code: object) -> bool:
    return isinstance(code, str) and len(code) <= MAX_CODE and _CODE.fullmatch(code) is not None


@dataclass(frozen=True, slots=True)
class Locale:
    code: str
    name: str
    is_source: bool
    position: float


@dataclass(frozen=True)
class LocaleData:
    locales: tuple[Locale, ...]  # by position, then code
    source: str | None  # the source locale's code; None when no locale claims it
    problems: tuple[Problem, ...]

    @property
    def targets(self) -> tuple[str, ...]:
        """Codes of the locales translated into: every locale but the source."""
        return tuple(locale.code for locale in self.locales if locale.code != self.source)


def read_locales(doc: Doc[Any]) -> LocaleData:
    """Read the locales tolerantly; odd entries are reported and left out."""
    problems = Problems()
    found: list[Locale] = []
    with doc.transaction():
        for code, value in sorted(root_map(doc, ROOT).items(), key=by_key):
            path = f"{ROOT}/{code}"
            if not is_locale_code(code):
                problems.add(path, "not a locale code")
                continue
            if not isinstance(value, Map):
                problems.add(path, "locale is not a map")
                continue
            position = value.get("position")
            if not is_number(position):
                problems.add(path, "position is not a number")
            is_source = value.get("isSource")
            if is_source is not None and not isinstance(is_source, bool):
                problems.add(path, "isSource is not a boolean")
            found.append(
                Locale(
                    code=code,
                    name=problems.string(value, "name", path) or code,
                    is_source=is_source is True,
                    position=float(position) if is_number(position) else 0.0,
                )
            )
    sources = sorted(locale.code for locale in found if locale.is_source)
    if found and len(sources) != 1:
        problems.add(ROOT, f"a project needs exactly one source locale, found {len(sources)}")
    ordered = tuple(sorted(found, key=lambda locale: (locale.position, locale.code)))
    return LocaleData(ordered, sources[0] if sources else None, tuple(problems.found))


def set_locale(
    doc: Doc[Any],
    code: str,
    name: str,
    *,
    is_source: bool = False,
    position: float | None = None,
    origin: int | None = None,
) -> None:
    """Add or change a locale; making it the source un-marks the previous source."""
    if not is_locale_code(code):
        raise ViewError(f"{code!r} is not a locale code")
    with doc.transaction(origin=origin):
        locales = root_map(doc, ROOT)
        if position is None:
            current = locales.get(code)
            old = current.get("position") if isinstance(current, Map) else None
            others = [
                float(p)
                for c, v in locales.items()
                if c != code and isinstance(v, Map) and is_number(p := v.get("position"))
            ]
            position = float(old) if is_number(old) else max(others, default=-1.0) + 1
        if is_source:
            for other, value in locales.items():
                if other != code and isinstance(value, Map) and value.get("isSource") is True:
                    value["isSource"] = False
        locales[code] = to_y({"name": name, "isSource": is_source, "position": position})


def remove_locale(doc: Doc[Any], code: str, *, origin: int | None = None) -> None:
    """Remove a locale (translations into it stay in the documents, unused)."""
    with doc.transaction(origin=origin):
        locales = root_map(doc, ROOT)
        if code not in locales:
            raise ViewError(f"locale {code!r} does not exist")
        del locales[code]
