"""The Storyarn archive: a ZIP holding every document of a project twice, as JSON (readable,
crdt/views) and as its Yjs state (lossless: a restore applies it to an empty Doc), with a
manifest that names each document and the sequence number it was taken at.

Layout (format version 1):
    manifest.json
    documents/tree.json, documents/tree.bin
    documents/flows/<id>.json, documents/flows/<id>.bin
    documents/pages/<id>.json, documents/pages/<id>.bin
    assets/<asset id>/<filename>

Entries are written one document (and one asset chunk) at a time, compressed in a thread, so
neither the project nor the archive is ever held in memory whole. An asset whose bytes are
missing from the blob store is listed with `"missing": true` rather than failing the export.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, BinaryIO

from crdt.schema import DocKey, DocKind
from persistence.blobs import BlobNotFound
from workers.export_source import ExportSource

FORMAT = "storyarn-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def document_path(key: DocKey) -> str:
    """The entry name, without extension, of a document in the archive."""
    if key.kind is DocKind.TREE:
        return "documents/tree"
    return f"documents/{key.kind.value}/{key.doc_id}"


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)


def _safe_name(filename: str) -> str:
    # Whatever the uploader called it, the entry stays one plain segment inside its folder.
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename).strip(" .")
    return name[:150] or "file"


async def _write_asset(archive: zipfile.ZipFile, path: str, chunks: AsyncIterator[bytes]) -> None:
    # Media is mostly compressed already: stored, not deflated.
    info = zipfile.ZipInfo(path, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_STORED
    entry = await asyncio.to_thread(archive.open, info, "w", force_zip64=True)
    try:
        async for chunk in chunks:
            await asyncio.to_thread(entry.write, chunk)
    finally:
        await asyncio.to_thread(entry.close)


async def _assets(source: ExportSource, archive: zipfile.ZipFile) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    for asset in source.assets:
        path = f"assets/{asset.id}/{_safe_name(asset.filename)}"
        entry: dict[str, Any] = {
            "id": asset.id,
            "filename": asset.filename,
            "content_type": asset.content_type,
            "size": asset.size,
            "blob_hash": asset.blob_hash,
            "path": path,
        }
        try:
            chunks = await source.blobs.open(asset.key)
        except BlobNotFound:
            entry["path"] = None
            entry["missing"] = True
        else:
            await _write_asset(archive, path, chunks)
        listed.append(entry)
    return listed


async def write_archive(
    source: ExportSource, out: BinaryIO, progress: Callable[[int], Awaitable[None]]
) -> None:
    entries: list[dict[str, Any]] = []
    total = max(1, len(source.keys) + len(source.assets))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        async for document in source.documents():
            path = document_path(document.key)
            content = json.dumps(document.content, ensure_ascii=False, sort_keys=True)
            await asyncio.to_thread(_write_entry, archive, f"{path}.json", content.encode())
            await asyncio.to_thread(_write_entry, archive, f"{path}.bin", document.state)
            entries.append(
                {
                    "kind": document.key.kind.value,
                    "id": document.key.doc_id or None,
                    "seq": document.seq,
                    "json": f"{path}.json",
                    "state": f"{path}.bin",
                }
            )
            await progress(len(entries) * 100 // total)
        assets = await _assets(source, archive)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "project": {"id": source.project_id},
            "exported_at": datetime.now(UTC).isoformat(),
            "documents": entries,
            "assets": assets,
        }
        _write_entry(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
