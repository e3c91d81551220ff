"""Helpers shared by the job and export tests: seed documents, follow a job, read its archive."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from typing import Any

import httpx
from pycrdt import Doc

from crdt.schema import DocKey, DocKind
from crdt.views import add_block, add_node, create_item, flow_to_json, page_to_json, tree_to_json
from persistence.store import DocumentStore, PendingUpdate
from tests.support.tokens import make_token

TO_JSON = {DocKind.TREE: tree_to_json, DocKind.FLOW: flow_to_json, DocKind.PAGE: page_to_json}


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user)}"}


def sample_docs(project_id: str) -> dict[DocKey, Doc[Any]]:
    tree: Doc[Any] = Doc()
    create_item(tree, DocKind.FLOW, "f1", "Intro")
    create_item(tree, DocKind.PAGE, "pg1", "Cast")
    flow: Doc[Any] = Doc()
    add_node(flow, "n1", "entry", 0, 0)
    add_node(flow, "n2", "dialogue", 100, 40, text="<p>Bonjour</p>")
    page: Doc[Any] = Doc()
    add_block(page, "b1", "text", "Name", value={"content": "Ada"})
    return {
        DocKey(project_id, DocKind.TREE): tree,
        DocKey(project_id, DocKind.FLOW, "f1"): flow,
        DocKey(project_id, DocKind.PAGE, "pg1"): page,
    }


async def store_docs(store: DocumentStore, docs: dict[DocKey, Doc[Any]]) -> None:
    for key, doc in docs.items():
        await store.append(key, [PendingUpdate(doc.get_update(), "ed", "test")])


async def wait_job(
    http: httpx.AsyncClient, job_id: str, user: str, *, timeout: float = 60
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            response = await http.get(f"/api/v1/jobs/{job_id}", headers=auth(user))
            assert response.status_code == 200, response.text
            job: dict[str, Any] = response.json()["job"]
            if job["status"] in ("done", "failed", "expired"):
                return job
            await asyncio.sleep(0.05)


def check_archive(data: bytes, project_id: str, docs: dict[DocKey, Doc[Any]]) -> None:
    """Every document's JSON and Yjs state in the archive reproduce `docs`."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["format"] == "storyarn-archive"
        assert manifest["format_version"] == 1
        assert manifest["project"] == {"id": project_id}
        listed = {(d["kind"], d["id"] or ""): d for d in manifest["documents"]}
        assert set(listed) == {(k.kind.value, k.doc_id) for k in docs}
        for key, doc in docs.items():
            entry = listed[(key.kind.value, key.doc_id)]
            assert entry["seq"] >= 1
            expected = TO_JSON[key.kind](doc)
            assert json.loads(archive.read(entry["json"])) == expected
            restored: Doc[Any] = Doc()
            restored.apply_update(archive.read(entry["state"]))
            assert TO_JSON[key.kind](restored) == expected
            assert restored.get_state() == doc.get_state()
