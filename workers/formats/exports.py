"""The text formats as export writers: what `workers/export_formats.py` registers.

Each writer reads the whole project first: Ink and Yarn scripts cross flows (subflows, exits)
and pages (speakers, variables), so unlike the archive they cannot stream one document at a
time. Documents are rebuilt from their Yjs state rather than their JSON, which leaves out the
`translations` and `locales` roots.
"""

from __future__ import annotations

import zipfile
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from pycrdt import Doc

from crdt.schema import DocKind
from workers.export_source import ExportSource
from workers.formats.ink import export_ink
from workers.formats.localization_csv import export_csv
from workers.formats.project import Project, read_project
from workers.formats.yarn import export_yarn

Progress = Callable[[int], Awaitable[None]]
_LOADED = 90  # share of the work that is reading documents; writing the text is the rest


async def load_project(source: ExportSource, progress: Progress) -> Project:
    """Every document of the export, read into one `Project`."""
    tree: Doc[Any] | None = None
    flows: dict[str, Doc[Any]] = {}
    pages: dict[str, Doc[Any]] = {}
    total, done = max(1, len(source.keys)), 0
    async for document in source.documents():
        doc: Doc[Any] = Doc()
        doc.apply_update(document.state)
        if document.key.kind is DocKind.TREE:
            tree = doc
        elif document.key.kind is DocKind.FLOW:
            flows[document.key.doc_id] = doc
        elif document.key.kind is DocKind.PAGE:
            pages[document.key.doc_id] = doc
        done += 1
        await progress(done * _LOADED // total)
    return read_project(tree, flows, pages)


async def write_ink(source: ExportSource, out: BinaryIO, progress: Progress) -> None:
    out.write(export_ink(await load_project(source, progress)).encode())
    await progress(100)


async def write_yarn(source: ExportSource, out: BinaryIO, progress: Progress) -> None:
    out.write(export_yarn(await load_project(source, progress)).encode())
    await progress(100)


async def write_localization_csv(source: ExportSource, out: BinaryIO, progress: Progress) -> None:
    """A ZIP with `<locale>.csv` per target locale, with a BOM so spreadsheets read UTF-8."""
    project = await load_project(source, progress)
    targets = project.locales.targets if project.locales is not None else ()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for locale in targets:
            archive.writestr(f"{locale}.csv", export_csv(project, locale, bom=True))
    await progress(100)
