"""Rich text: a Y.XmlFragment of paragraphs and hard breaks, to and from HTML and ProseMirror JSON.

The editor (TipTap, bound with y-prosemirror) stores a paragraph as an `XmlElement("paragraph")`
holding `XmlText` runs and `XmlElement("hardBreak")` atoms. Storyarn's dialogue editor allows
only those two, without marks, so the model here is a list of paragraphs, each a tuple of lines
separated by hard breaks: `<p>a<br>b</p><p></p>` is `[("a", "b"), ("",)]`.

Anything richer that a client may still write (marks, headings, lists, mention atoms) is read
tolerantly: marks are dropped, other blocks are flattened into paragraphs of their text, and an
atom without children contributes its `label` attribute (how a mention chip displays).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from html.parser import HTMLParser
from typing import Any

from pycrdt import XmlElement, XmlFragment, XmlText

Paragraph = tuple[str, ...]

PARAGRAPH = "paragraph"
HARD_BREAK = "hardBreak"

# HTML elements that start a new paragraph when converting from HTML that we did not produce.
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "ul",
        "ol",
    ]
)
_SKIPPED_TAGS = frozenset({"script", "style"})

XmlNode = XmlFragment | XmlElement | XmlText


def _run_text(run: XmlText) -> str:
    # diff() gives the plain runs without formatting markup; embeds (non-str inserts) are skipped.
    return "".join(chunk for chunk, _ in run.diff() if isinstance(chunk, str))


def _inline_lines(element: XmlElement | XmlFragment, lines: list[str]) -> None:
    for child in element.children:
        if isinstance(child, XmlText):
            lines[-1] += _run_text(child)
        elif isinstance(child, XmlElement):
            if child.tag == HARD_BREAK:
                lines.append("")
            elif len(child.children) == 0:
                label = child.attributes.get("label")
                lines[-1] += label if isinstance(label, str) else ""
            else:
                _inline_lines(child, lines)


def _is_inline(element: XmlElement) -> bool:
    """Whether an element holds only text and hard breaks (or atoms), not nested blocks."""
    for child in element.children:
        if isinstance(child, XmlElement) and child.tag != HARD_BREAK and len(child.children) > 0:
            return False
    return True


def _block_paragraphs(node: XmlNode, out: list[Paragraph]) -> None:
    if isinstance(node, XmlText):
        # A bare text run at block level is malformed ProseMirror; keep its text as a paragraph.
        out.append((_run_text(node),))
        return
    if isinstance(node, XmlElement) and (node.tag == PARAGRAPH or _is_inline(node)):
        lines = [""]
        _inline_lines(node, lines)
        out.append(tuple(lines))
        return
    for child in node.children:
        _block_paragraphs(child, out)


def read_paragraphs(fragment: XmlFragment) -> list[Paragraph]:
    """The paragraphs of a fragment, each a tuple of its lines (split at hard breaks)."""
    out: list[Paragraph] = []
    for child in fragment.children:
        _block_paragraphs(child, out)
    return out


def paragraphs_to_html(paragraphs: Iterable[Paragraph]) -> str:
    """Render paragraphs as `<p>` elements with `<br>` between lines, text escaped."""
    return "".join(
        "<p>" + "<br>".join(escape(line, quote=False) for line in lines) + "</p>"
        for lines in paragraphs
    )


def fragment_to_html(fragment: XmlFragment) -> str:
    """The fragment as simple HTML: `<p>` and `<br>` only."""
    return paragraphs_to_html(read_paragraphs(fragment))


def fragment_to_text(fragment: XmlFragment) -> str:
    """The fragment as plain text: one line per paragraph line, paragraphs separated by newlines."""
    return "\n".join("\n".join(lines) for lines in read_paragraphs(fragment))


class _ParagraphParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[list[str]] = []
        self.current: list[str] | None = None
        self.skipping = 0

    def _open(self) -> list[str]:
        if self.current is None:
            self.current = [""]
            self.paragraphs.append(self.current)
        return self.current

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag == "br":
            self._open().append("")
        elif tag in _BLOCK_TAGS:
            self.current = None
            if tag == "p":
                self._open()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._open().append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.current is None and not data.strip():
            return  # whitespace between block elements is formatting, not content
        lines = self._open()
        lines[-1] += data


def html_to_paragraphs(html: str) -> list[Paragraph]:
    """Parse HTML into paragraphs; block elements split paragraphs, other markup is dropped."""
    parser = _ParagraphParser()
    parser.feed(html)
    parser.close()
    return [tuple(lines) for lines in parser.paragraphs]


def _paragraph_element(lines: Sequence[str]) -> XmlElement:
    contents: list[XmlElement | XmlText] = []
    for i, line in enumerate(lines):
        if i:
            contents.append(XmlElement(HARD_BREAK))
        if line:
            contents.append(XmlText(line))
    return XmlElement(PARAGRAPH, None, contents)


def build_fragment(paragraphs: Iterable[Paragraph]) -> XmlFragment:
    """A new (not yet integrated) fragment holding these paragraphs."""
    return XmlFragment([_paragraph_element(lines) for lines in paragraphs])


def html_to_fragment(html: str) -> XmlFragment:
    """A new (not yet integrated) fragment parsed from HTML."""
    return build_fragment(html_to_paragraphs(html))


def write_paragraphs(fragment: XmlFragment, paragraphs: Iterable[Paragraph]) -> None:
    """Replace an integrated fragment's content in place (editors bound to it stay bound)."""
    with fragment.doc.transaction():
        del fragment.children[0 : len(fragment.children)]
        for lines in paragraphs:
            fragment.children.append(_paragraph_element(lines))


def write_html(fragment: XmlFragment, html: str) -> None:
    """Replace an integrated fragment's content with parsed HTML."""
    write_paragraphs(fragment, html_to_paragraphs(html))


def fragment_to_prosemirror(fragment: XmlFragment) -> dict[str, Any]:
    """The fragment as ProseMirror JSON (`{"type": "doc", "content": [...]}`)."""
    return paragraphs_to_prosemirror(read_paragraphs(fragment))


def paragraphs_to_prosemirror(paragraphs: Iterable[Paragraph]) -> dict[str, Any]:
    """ProseMirror JSON of paragraphs; empty paragraphs have no `content`, as ProseMirror emits."""
    content: list[dict[str, Any]] = []
    for lines in paragraphs:
        inline: list[dict[str, Any]] = []
        for i, line in enumerate(lines):
            if i:
                inline.append({"type": HARD_BREAK})
            if line:
                inline.append({"type": "text", "text": line})
        content.append({"type": PARAGRAPH, "content": inline} if inline else {"type": PARAGRAPH})
    return {"type": "doc", "content": content}


def _pm_lines(node: Mapping[str, Any], lines: list[str]) -> None:
    for child in _pm_children(node):
        kind = child.get("type")
        if kind == "text":
            text = child.get("text")
            lines[-1] += text if isinstance(text, str) else ""
        elif kind == HARD_BREAK:
            lines.append("")
        elif _pm_children(child):
            _pm_lines(child, lines)
        else:
            attrs = child.get("attrs")
            label = attrs.get("label") if isinstance(attrs, Mapping) else None
            lines[-1] += label if isinstance(label, str) else ""


def _pm_children(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = node.get("content")
    if not isinstance(content, list):
        return []
    return [child for child in content if isinstance(child, Mapping)]


def _pm_blocks(node: Mapping[str, Any], out: list[Paragraph]) -> None:
    # Same flattening as `_block_paragraphs`, so HTML and ProseMirror JSON agree.
    children = _pm_children(node)
    inline = all(
        child.get("type") in ("text", HARD_BREAK) or not _pm_children(child) for child in children
    )
    if node.get("type") == PARAGRAPH or inline:
        lines = [""]
        _pm_lines(node, lines)
        out.append(tuple(lines))
        return
    for child in children:
        _pm_blocks(child, out)


def prosemirror_to_paragraphs(doc: Mapping[str, Any]) -> list[Paragraph]:
    """Paragraphs of ProseMirror JSON; non-paragraph blocks are flattened into their text."""
    out: list[Paragraph] = []
    for block in _pm_children(doc):
        _pm_blocks(block, out)
    return out
