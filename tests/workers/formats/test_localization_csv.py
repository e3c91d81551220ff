from __future__ import annotations

import csv
import io

import pytest

from crdt.schema import DocKind
from crdt.views import Status, TranslationKey, read_translations, update_node_data
from crdt.views.translations import SourceType
from tests.workers.formats.samples import TRICKY, sample_docs
from workers.formats.localization_apply import apply_updates
from workers.formats.localization_csv import BOM, COLUMNS, export_csv, parse_csv
from workers.formats.project import read_project

ES = "es"


def _table(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _write(table: list[dict[str, str]], *, bom: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(table)
    return ((BOM if bom else "") + out.getvalue()).encode()


def test_localization_csv_export_lists_texts_with_keys_and_speakers() -> None:
    tree, flows, pages = sample_docs()
    data = export_csv(read_project(tree, flows, pages), ES, bom=True)

    assert data.startswith(BOM.encode())
    table = _table(data)
    first = table[0]
    assert list(first) == list(COLUMNS)
    assert first["key"] == "flow_node.dialogue_d1.text"
    assert first["speaker"] == "Innkeeper"
    assert first["source_text"] == "Welcome, traveler!\nWhat'll it be?"
    assert first["translation"] == "¡Bienvenido, viajero!\n¿Qué va a ser?"
    assert first["status"] == "final"
    keys = {row["key"] for row in table}
    assert "block.mc.jaime.nickname.value.content" in keys
    assert "page.mc.jaime.name" in keys
    assert any(row["source_text"] == TRICKY for row in table)


def test_localization_csv_round_trip_keeps_text_and_status() -> None:
    tree, flows, pages = sample_docs()
    table = _table(export_csv(read_project(tree, flows, pages), ES))
    edits = {
        "flow_node.dialogue_d2.text": ('¡Salud!, dijo "él"\nOtra línea', "review"),
        "flow_node.dialogue_d4.text": ("Vuelve pronto, ¿sí?", "final"),
        "page.mc.jaime.name": ("Jaime", "in_progress"),
    }
    for row in table:
        if row["key"] in edits:
            row["translation"], row["status"] = edits[row["key"]]
    parsed = parse_csv(_write(table), ES)
    assert parsed.errors == ()

    main = apply_updates(flows["f_main"], DocKind.FLOW, "f_main", parsed.updates, origin=7)
    page = apply_updates(pages["p_jaime"], DocKind.PAGE, "p_jaime", parsed.updates, name="Jaime")

    assert main.stale == () and page.stale == ()
    assert {k.source_id for k in main.applied} == {"d2", "d4"}
    assert [k.source_id for k in page.applied] == ["p_jaime"]
    assert len(main.elsewhere) == 7  # the side flow's and the page's rows
    assert TranslationKey(SourceType.FLOW_NODE, "d1", "text", ES) in main.unchanged
    again = _table(export_csv(read_project(tree, flows, pages), ES))
    assert {r["key"]: (r["translation"], r["status"]) for r in again if r["key"] in edits} == edits
    assert [r["key"] for r in again] == [r["key"] for r in table]


def test_localization_csv_import_skips_rows_whose_source_changed() -> None:
    tree, flows, pages = sample_docs()
    table = _table(export_csv(read_project(tree, flows, pages), ES))
    for row in table:
        row["translation"], row["status"] = "traducido", ""
    update_node_data(flows["f_main"], "d2", text="<p>Cheers, friend!</p>")

    result = apply_updates(
        flows["f_main"], DocKind.FLOW, "f_main", parse_csv(_write(table), ES).updates
    )

    stale = TranslationKey(SourceType.FLOW_NODE, "d2", "text", ES)
    assert result.stale == (stale,)
    assert stale not in read_translations(flows["f_main"]).translations
    applied = read_translations(flows["f_main"]).translations
    assert applied[TranslationKey(SourceType.FLOW_NODE, "d8", "text", ES)].status is Status.DRAFT


def test_localization_csv_import_is_all_or_nothing_with_line_numbers() -> None:
    tree, flows, pages = sample_docs()
    table = _table(export_csv(read_project(tree, flows, pages), ES))
    # The first row spans lines 2-4 (its source and translation hold a line break each).
    table[1]["status"] = "done"
    table[2]["source_type"] = "scene"
    table[3]["status"] = "final"
    table[3]["translation"] = ""
    table.append(dict(table[4]))

    parsed = parse_csv(_write(table, bom=False), ES)

    assert parsed.updates == ()
    assert [(e.line, e.message.split()[0]) for e in parsed.errors] == [
        (5, "status"),
        (6, "source_type"),
        (7, "status"),
        (len(table) + 3, "repeats"),
    ]


def test_localization_csv_import_refuses_a_file_without_the_columns() -> None:
    parsed = parse_csv(b"key,translation\r\na,b\r\n", ES)

    assert parsed.updates == ()
    assert parsed.errors[0].line == 1
    assert "source_type" in parsed.errors[0].message


def test_localization_csv_rejects_a_bad_locale() -> None:
    with pytest.raises(ValueError, match="locale"):
        parse_csv(b"", "not a locale")
