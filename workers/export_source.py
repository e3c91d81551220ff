"""A project's documents for an export: listed once, then loaded one at a time, so an export
holds one document in memory however large the project is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from crdt.schema import DocKey, DocKind
from crdt.views import flow_to_json, page_to_json, tree_to_json
from persistence.assets import Asset, AssetStore
from persistence.blobs import BlobStore
from persistence.store import DocumentStore

_TO_JSON: dict[DocKind, Callable[[Doc[Any]], dict[str, Any]]] = {
    DocKind.FLOW: flow_to_json,
    DocKind.PAGE: page_to_json,
    DocKind.TREE: tree_to_json,
}


@dataclass(frozen=True, slots=True)
class ExportDocument:
    key: DocKey
    seq: int  # the highest committed sequence number the state contains
    state: bytes  # the full Yjs state: applying it to an empty Doc rebuilds the document
    content: dict[str, Any]  # the same document as plain JSON (crdt/views)


def load_doc(updates: list[bytes]) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


class ExportSource:
    def __init__(
        self,
        project_id: str,
        keys: list[DocKey],
        store: DocumentStore,
        blobs: BlobStore,
        assets: list[Asset] | None = None,
    ) -> None:
        self.project_id = project_id
        self.keys = keys  # the tree first, then flows and pages
        self.blobs = blobs
        self.assets = assets or []  # uploaded files; their bytes are in `blobs` under `key`
        self._store = store

    async def documents(self) -> AsyncIterator[ExportDocument]:
        """Each document's committed state, skipping one deleted since the listing."""
        for key in self.keys:
            stored = await self._store.load(key)
            if stored is None:
                continue
            doc = load_doc(stored.updates)
            yield ExportDocument(key, stored.seq, doc.get_update(), _TO_JSON[key.kind](doc))


async def project_assets(assets: AssetStore, project_id: str) -> list[Asset]:
    """Every live asset row of the project (rows are small; their bytes are streamed later)."""
    found: list[Asset] = []
    cursor: str | None = None
    while True:
        page = await assets.list(project_id, limit=1000, cursor=cursor)
        found.extend(page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor
