from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, Map, XmlElement, XmlFragment, XmlText

from crdt.schema import SCHEMAS, DocKind
from crdt.update_reader import read_update
from crdt.views import (
    SourceType,
    Status,
    TranslationKey,
    ViewError,
    add_block,
    add_node,
    add_response,
    flow_sources,
    page_sources,
    read_flow,
    read_locales,
    read_page,
    read_translations,
    remove_locale,
    remove_translation,
    set_locale,
    set_translation,
)
from crdt.views.mentions import flow_mentions, fragment_mentions, page_mentions


def _exchange(a: Doc[Any], b: Doc[Any]) -> None:
    ua, ub = a.get_update(b.get_state()), b.get_update(a.get_state())
    a.apply_update(ub)
    b.apply_update(ua)


def test_locales_set_read_and_move_the_source() -> None:
    doc: Doc[Any] = Doc()
    set_locale(doc, "en", "English", is_source=True)
    set_locale(doc, "es", "Spanish")
    set_locale(doc, "pt-BR", "Portuguese")
    data = read_locales(doc)
    assert [locale.code for locale in data.locales] == ["en", "es", "pt-BR"]
    assert data.source == "en"
    assert data.targets == ("es", "pt-BR")
    assert data.problems == ()
    set_locale(doc, "es", "Spanish", is_source=True)
    assert read_locales(doc).source == "es"
    assert [loc.position for loc in read_locales(doc).locales] == [0.0, 1.0, 2.0]
    remove_locale(doc, "pt-BR")
    assert read_locales(doc).targets == ("en",)


def test_locales_refuse_a_bad_code() -> None:
    doc: Doc[Any] = Doc()
    with pytest.raises(ViewError):
        set_locale(doc, "english!", "English")
    with pytest.raises(ViewError):
        remove_locale(doc, "en")


def test_locales_concurrent_sources_are_reported_and_resolved_by_code() -> None:
    a: Doc[Any] = Doc()
    set_locale(a, "en", "English", is_source=True)
    b: Doc[Any] = Doc()
    b.apply_update(a.get_update())
    set_locale(a, "fr", "French", is_source=True)
    set_locale(b, "de", "German", is_source=True, position=5)
    _exchange(a, b)
    data = read_locales(b)
    assert data.source == "de"  # two claim it: the first by code wins, on every peer
    assert read_locales(a).source == "de"
    assert any("exactly one source" in p.message for p in data.problems)


def test_locales_odd_entries_are_reported() -> None:
    doc: Doc[Any] = Doc()
    doc.get("locales", type=Map)["not a code"] = Map({"name": "x"})
    doc.get("locales", type=Map)["en"] = "flat"
    doc.get("locales", type=Map)["es"] = Map({"name": 3, "isSource": "yes", "position": "a"})
    data = read_locales(doc)
    assert [locale.code for locale in data.locales] == ["es"]
    assert len(data.problems) >= 5


def test_translations_round_trip_and_odd_entries() -> None:
    doc: Doc[Any] = Doc()
    key = TranslationKey(SourceType.FLOW_NODE, "n1", "response.r1.text", "es")
    set_translation(doc, key, "Hola", status="review", translator_notes="tú")
    found = read_translations(doc).translations[key]
    assert (found.text, found.status, found.translator_notes) == ("Hola", Status.REVIEW, "tú")
    with pytest.raises(ViewError):
        set_translation(doc, key, "x", status="done")
    translations = doc.get("translations", type=Map)
    translations["flow_node:n2:text"] = Map({"text": "x"})  # no locale
    translations["flow_node:n3:text:es"] = Map({"text": "y", "status": "weird"})
    data = read_translations(doc)
    odd = TranslationKey(SourceType.FLOW_NODE, "n3", "text", "es")
    assert data.translations[odd].status is Status.PENDING
    assert len(data.problems) == 2
    remove_translation(doc, key)
    assert key not in read_translations(doc).translations


def test_schema_accepts_the_new_roots() -> None:
    tree: Doc[Any] = Doc()
    set_locale(tree, "en", "English", is_source=True)
    SCHEMAS[DocKind.TREE].check(read_update(tree.get_update()))
    flow: Doc[Any] = Doc()
    set_translation(flow, TranslationKey(SourceType.FLOW_NODE, "n", "text", "es"), "x")
    SCHEMAS[DocKind.FLOW].check(read_update(flow.get_update()))
    SCHEMAS[DocKind.PAGE].check(read_update(flow.get_update()))


def test_flow_sources_lists_every_localizable_field() -> None:
    doc: Doc[Any] = Doc()
    add_node(doc, "e", "entry", 0, 0)
    add_node(
        doc,
        "d",
        "dialogue",
        0,
        0,
        text="<p>Hello <b>there</b></p><p>friend</p>",
        stageDirections="whispers",
        speakerSheetId="jaime",
    )
    add_response(doc, "d", "r1", "Yes")
    add_response(doc, "d", "r2", "")
    add_node(doc, "x", "exit", 0, 0, label="The end")
    add_node(doc, "h", "hub", 0, 0, label="not localized")
    sources = list(flow_sources(read_flow(doc)))
    assert [(s.source_id, s.field, s.text, s.speaker) for s in sources] == [
        ("d", "text", "Hello there\nfriend", "jaime"),
        ("d", "stage_directions", "whispers", "jaime"),
        ("d", "response.r1.text", "Yes", "jaime"),
        ("x", "label", "The end", None),
    ]
    assert sources[0].word_count == 3


def test_page_sources_lists_name_and_text_blocks() -> None:
    doc: Doc[Any] = Doc()
    add_block(doc, "b1", "text", "Bio", value={"content": "A knight"})
    add_block(doc, "b2", "rich_text", "Notes", value={"content": "<p>Brave<br>and tall</p>"})
    add_block(doc, "b3", "number", "Age", value={"content": 30})
    add_block(doc, "b4", "text", "Empty")
    sources = list(page_sources(read_page(doc), "p1", "Jaime"))
    assert [(s.source_type, s.source_id, s.field, s.text) for s in sources] == [
        (SourceType.PAGE, "p1", "name", "Jaime"),
        (SourceType.BLOCK, "b1", "value.content", "A knight"),
        (SourceType.BLOCK, "b2", "value.content", "Brave\nand tall"),
    ]


def _mention(fragment: XmlFragment, **attributes: str) -> None:
    paragraph = XmlElement("paragraph", None, [XmlText("Ask "), XmlElement("mention", attributes)])
    fragment.children.append(paragraph)


def test_mentions_are_read_from_dialogue_text_and_rich_text_blocks() -> None:
    flow: Doc[Any] = Doc()
    add_node(flow, "d1", "dialogue", 0, 0, text="<p>Hello</p>")
    add_node(flow, "d2", "dialogue", 0, 0, text="<p>No mention</p>")
    add_node(flow, "h", "hub", 0, 0)
    text = flow.get("nodes", type=Map)["d1"]["data"]["text"]
    _mention(text, id="jaime", type="sheet", label="Jaime")
    _mention(text, **{"data-id": "f2", "data-type": "flow"})
    _mention(text, label="no id")
    assert flow_mentions(flow) == {"d1": [("sheet", "jaime"), ("flow", "f2")]}
    page: Doc[Any] = Doc()
    add_block(page, "b1", "rich_text", "Notes", value={"content": "<p>See</p>"})
    add_block(page, "b2", "text", "Plain", value={"content": "<mention>"})
    content = page.get("blocks", type=Map)["b1"]["value"]["content"]
    _mention(content, id="ana")
    assert page_mentions(page) == {"b1": [("page", "ana")]}
    assert fragment_mentions("not a fragment") == []
