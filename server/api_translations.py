"""REST write of one translation's status (and text) in the document that holds its source.

PATCH /api/v1/projects/{project_id}/{flows|pages}/{doc_id}/translations

Translations live in the `translations` root of the flow or page document
(crdt/views/translations.py), so this is an authored edit of that live document like any other
REST edit: committed first, then seen by connected editors, then projected into the
localization rows that `GET .../locales/{locale}/texts` reads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from pycrdt import Doc
from starlette.responses import JSONResponse, Response

from crdt.schema import DocKey, DocKind
from crdt.views import read_flow, read_page
from crdt.views.locales import read_locales
from crdt.views.localizable import flow_sources, page_sources
from crdt.views.translations import (
    SourceType,
    Status,
    TranslationKey,
    read_translations,
    set_translation,
)
from server.api_documents import Documents
from server.api_models import ref
from server.api_registry import PATH_PARAMS, Api, Auth, Call, Endpoint
from server.api_schema import invalid, rule
from server.api_tree import ID_PATTERN
from server.rooms import DocumentNotFound

StatusName = Literal["pending", "draft", "in_progress", "review", "final"]


@dataclass(frozen=True, slots=True)
class SetTranslation:
    """Which source text, in which locale; its new status, and optionally its text and notes
    (left as they are when not given)."""

    source_type: Literal["flow_node", "block", "page"]
    source_id: str = dataclasses.field(metadata=rule(pattern=ID_PATTERN))
    field: str = dataclasses.field(metadata=rule(min_length=1, max_length=200, pattern=r"^[^:]+$"))
    locale: str = dataclasses.field(metadata=rule(pattern=PATH_PARAMS["locale"]["pattern"]))
    status: StatusName
    text: str | None = dataclasses.field(default=None, metadata=rule(max_length=100_000))
    translator_notes: str | None = dataclasses.field(default=None, metadata=rule(max_length=10_000))


def _sources(kind: DocKind, doc_id: str, doc: Doc[Any]) -> set[tuple[str, str, str]]:
    """(source type, source id, field) of every text this document offers for translation."""
    if kind is DocKind.FLOW:
        found = flow_sources(read_flow(doc))
    else:
        found = page_sources(read_page(doc), doc_id, None)
    keys = {(s.source_type.value, s.source_id, s.field) for s in found}
    if kind is DocKind.PAGE:  # the page's name lives in the tree, its translations here
        keys.add((SourceType.PAGE.value, doc_id, "name"))
    return keys


def register(api: Api, documents: Documents) -> None:
    async def set_translation_status(call: Call) -> Response:
        body: SetTranslation = call.body
        kind = DocKind(call.path["kind"])
        doc_id: str = call.path["doc_id"]
        try:
            locales = await documents.read(
                DocKey(call.project_id, DocKind.TREE), lambda doc: read_locales(doc).targets
            )
        except DocumentNotFound:
            locales = ()
        if body.locale not in locales:
            raise invalid("locale", "is not a target locale of this project")
        key = TranslationKey(SourceType(body.source_type), body.source_id, body.field, body.locale)

        def edit(doc: Doc[Any]) -> dict[str, Any]:
            if (body.source_type, body.source_id, body.field) not in _sources(kind, doc_id, doc):
                raise invalid("source_id", "names no translatable text of this document")
            current = read_translations(doc).translations.get(key)
            text, notes = body.text, body.translator_notes
            if current is not None:
                text = current.text if text is None else text
                notes = current.translator_notes if notes is None else notes
            set_translation(doc, key, text, status=Status(body.status), translator_notes=notes)
            return {
                "source_type": key.source_type.value,
                "source_id": key.source_id,
                "field": key.field,
                "locale": key.locale,
                "text": text,
                "status": body.status,
                "translator_notes": notes,
            }

        result = await documents.edit(DocKey(call.project_id, kind, doc_id), call.user_id, edit)
        return JSONResponse(result)

    api.add(
        Endpoint(
            "PATCH",
            "/api/v1/projects/{project_id}/{kind}/{doc_id}/translations",
            set_translation_status,
            Auth.WRITE,
            "Set a translation's status (and text) in the document holding its source",
            "projections",
            response=ref("Translation"),
            body=SetTranslation,
        )
    )
