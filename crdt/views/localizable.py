"""Which texts of a flow or page are translated: the localizable fields of domain.md §1.9.

Dialogue `text` (rich text, read as plain text), `stage_directions`, `menu_text` and
`response.<id>.text`; exit `label`; text and rich_text blocks' `value.content`; the page's
`name`. Empty texts are not localizable: there is nothing to translate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from crdt.views.blocks import BlockType
from crdt.views.flow import FlowData
from crdt.views.nodes import NodeType
from crdt.views.page import PageData
from crdt.views.richtext import html_to_paragraphs
from crdt.views.translations import SourceType

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class SourceText:
    source_type: SourceType
    source_id: str
    field: str
    text: str
    speaker: str | None  # the speaking page of a dialogue line

    @property
    def word_count(self) -> int:
        return word_count(self.text)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def html_to_text(html: str) -> str:
    """Plain text of the `<p>`/`<br>` HTML a rich-text field reads as."""
    return "\n".join("\n".join(lines) for lines in html_to_paragraphs(html))


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def flow_sources(flow: FlowData) -> Iterator[SourceText]:
    """The localizable texts of a flow, by node id then field."""
    for node in sorted(flow.nodes.values(), key=lambda n: n.id):
        if node.type is NodeType.DIALOGUE:
            speaker = node.data.get("speakerSheetId")
            speaker = speaker if isinstance(speaker, str) and speaker else None
            fields = [
                ("text", html_to_text(_string(node.data, "text"))),
                ("stage_directions", _string(node.data, "stageDirections")),
                ("menu_text", _string(node.data, "menuText")),
                *((f"response.{r.id}.text", r.text) for r in node.responses),
            ]
        elif node.type is NodeType.EXIT:
            speaker, fields = None, [("label", _string(node.data, "label"))]
        else:
            continue
        for field, text in fields:
            if text.strip():
                yield SourceText(SourceType.FLOW_NODE, node.id, field, text, speaker)


def page_sources(page: PageData, page_id: str, name: str | None) -> Iterator[SourceText]:
    """The localizable texts of a page: its name, then text blocks in display order."""
    if name and name.strip():
        yield SourceText(SourceType.PAGE, page_id, "name", name, None)
    for block in page.blocks:
        content = block.content
        if not isinstance(content, str):
            continue
        if block.type is BlockType.RICH_TEXT:
            content = html_to_text(content)
        elif block.type is not BlockType.TEXT:
            continue
        if content.strip():
            yield SourceText(SourceType.BLOCK, block.id, "value.content", content, None)
