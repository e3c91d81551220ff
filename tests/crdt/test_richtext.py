from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, XmlElement, XmlFragment, XmlText

from crdt.views.richtext import (
    build_fragment,
    fragment_to_html,
    fragment_to_prosemirror,
    fragment_to_text,
    html_to_fragment,
    html_to_paragraphs,
    paragraphs_to_html,
    paragraphs_to_prosemirror,
    prosemirror_to_paragraphs,
    read_paragraphs,
    write_html,
)


def _integrated(fragment: XmlFragment) -> XmlFragment:
    doc: Doc[Any] = Doc()
    doc.get("m", type=Map)["text"] = fragment
    value: XmlFragment = doc.get("m", type=Map)["text"]
    return value


def _remote(doc: Doc[Any]) -> Doc[Any]:
    other: Doc[Any] = Doc()
    other.apply_update(doc.get_update())
    return other


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<p></p>",
        "<p>Hello</p>",
        "<p>Hello<br>world</p><p>Second</p>",
        "<p><br></p>",
        "<p>a<br><br>b</p>",
        "<p>1 &lt; 2 &amp;&amp; 3 &gt; 2</p>",
        "<p>  spaced  </p>",
        "<p>quotes \" and ' stay</p>",
    ],
)
def test_richtext_canonical_html_round_trips(html: str) -> None:
    assert fragment_to_html(_integrated(html_to_fragment(html))) == html
    assert paragraphs_to_html(html_to_paragraphs(html)) == html


def test_richtext_fragment_uses_tiptap_node_names() -> None:
    fragment = _integrated(html_to_fragment("<p>a<br>b</p>"))
    paragraph = next(iter(fragment.children))
    assert isinstance(paragraph, XmlElement)
    assert paragraph.tag == "paragraph"
    kinds = [
        child.tag if isinstance(child, XmlElement) else str(child) for child in paragraph.children
    ]
    assert kinds == ["a", "hardBreak", "b"]


def test_richtext_foreign_html_is_flattened_to_paragraphs() -> None:
    html = (
        "<h1>Title</h1>\n<p>x <strong>bold</strong> &amp; y</p>"
        "<ul><li>one</li><li>two</li></ul>loose<br/>text<script>alert(1)</script>"
    )
    assert html_to_paragraphs(html) == [
        ("Title",),
        ("x bold & y",),
        ("one",),
        ("two",),
        ("loose", "text"),
    ]


def test_richtext_marks_and_mentions_read_as_plain_text() -> None:
    doc: Doc[Any] = Doc()
    fragment = doc.get("f", type=XmlFragment)
    paragraph = fragment.children.append(XmlElement("paragraph"))
    run = paragraph.children.append(XmlText("hello bold"))
    run.format(6, 10, {"bold": True})
    paragraph.children.append(XmlElement("mention", {"id": "s1", "label": "Jaime"}))
    fragment.children.append(
        XmlElement("blockquote", None, [XmlElement("paragraph", None, [XmlText("quoted")])])
    )
    assert read_paragraphs(fragment) == [("hello boldJaime",), ("quoted",)]
    assert fragment_to_html(fragment) == "<p>hello boldJaime</p><p>quoted</p>"


def test_richtext_text_joins_lines_and_paragraphs() -> None:
    fragment = _integrated(html_to_fragment("<p>a<br>b</p><p>c</p>"))
    assert fragment_to_text(fragment) == "a\nb\nc"


def test_richtext_prosemirror_json_matches_html() -> None:
    fragment = _integrated(html_to_fragment("<p>a<br>b</p><p></p>"))
    pm = fragment_to_prosemirror(fragment)
    assert pm == {
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "b"},
                ],
            },
            {"type": "paragraph"},
        ],
    }
    assert prosemirror_to_paragraphs(pm) == [("a", "b"), ("",)]


def test_richtext_prosemirror_nested_blocks_flatten_like_xml() -> None:
    pm = {
        "type": "doc",
        "content": [
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "x"}]}
                        ],
                    }
                ],
            },
            {"type": "heading", "content": [{"type": "text", "text": "H"}]},
            {"type": "paragraph", "content": [{"type": "mention", "attrs": {"label": "Bob"}}]},
            "junk",
        ],
    }
    assert prosemirror_to_paragraphs(pm) == [("x",), ("H",), ("Bob",)]


def test_richtext_write_html_rewrites_in_place_and_syncs() -> None:
    doc: Doc[Any] = Doc()
    fragment = doc.get("f", type=XmlFragment)
    write_html(fragment, "<p>first</p>")
    write_html(fragment, "<p>second<br>line</p><p>more</p>")
    assert doc.get("f", type=XmlFragment) == fragment
    assert fragment_to_html(fragment) == "<p>second<br>line</p><p>more</p>"
    remote = _remote(doc)
    assert fragment_to_html(remote.get("f", type=XmlFragment)) == fragment_to_html(fragment)


_line = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12)
_paragraphs = st.lists(st.lists(_line, min_size=1, max_size=4).map(tuple), max_size=5)


@settings(database=None, max_examples=60, deadline=None)
@given(_paragraphs)
def test_richtext_any_paragraphs_round_trip(paragraphs: list[tuple[str, ...]]) -> None:
    html = paragraphs_to_html(paragraphs)
    assert html_to_paragraphs(html) == paragraphs
    fragment = _integrated(build_fragment(paragraphs))
    assert read_paragraphs(fragment) == paragraphs
    assert prosemirror_to_paragraphs(paragraphs_to_prosemirror(paragraphs)) == paragraphs
