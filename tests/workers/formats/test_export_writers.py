from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

from pycrdt import Doc

from crdt.schema import DocKey, DocKind
from tests.workers.formats.inkjs import play
from tests.workers.formats.samples import sample_docs
from workers.export_formats import FORMATS
from workers.export_source import ExportDocument


class _Source:
    """The part of `ExportSource` the writers use, over in-memory Docs."""

    def __init__(self) -> None:
        tree, flows, pages = sample_docs()
        self.docs: dict[DocKey, Doc[Any]] = {DocKey("p", DocKind.TREE): tree}
        self.docs |= {DocKey("p", DocKind.FLOW, i): d for i, d in flows.items()}
        self.docs |= {DocKey("p", DocKind.PAGE, i): d for i, d in pages.items()}
        self.keys = list(self.docs)

    async def documents(self) -> AsyncIterator[ExportDocument]:
        for key, doc in self.docs.items():
            yield ExportDocument(key, 1, doc.get_update(), {})


async def _write(name: str) -> tuple[bytes, list[int]]:
    seen: list[int] = []

    async def progress(percent: int) -> None:
        seen.append(percent)

    out = io.BytesIO()
    await FORMATS[name].write(_Source(), out, progress)  # type: ignore[arg-type]
    return out.getvalue(), seen


async def test_export_writers_ink_is_registered_and_plays() -> None:
    data, seen = await _write("ink")

    assert FORMATS["ink"].extension == "ink"
    assert seen[-1] == 100
    assert play(data.decode(), 1)["lines"][0] == "Innkeeper: Welcome, traveler!"


async def test_export_writers_yarn_is_registered() -> None:
    data, _ = await _write("yarn")

    assert data.decode().count("title: ") == 3


async def test_export_writers_localization_csv_is_a_zip_per_target_locale() -> None:
    data, _ = await _write("localization-csv")

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["es.csv"]
        text = archive.read("es.csv").decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows[0]["translation"] == "¡Bienvenido, viajero!\n¿Qué va a ser?"
