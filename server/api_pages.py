"""REST read of a page's live document: its meta and its blocks in display order.

GET /api/v1/projects/{project_id}/pages/{page_id}

Read through `read_page` (crdt/views/page.py): every peer's order, odd content reported in
`problems` rather than refused. Blocks are edited over the websocket.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc
from starlette.responses import JSONResponse, Response

from crdt.schema import DocKey, DocKind
from crdt.views import read_page
from server.api_documents import Documents
from server.api_models import ref
from server.api_registry import Api, Auth, Call, Endpoint


def _page_json(doc: Doc[Any]) -> dict[str, Any]:
    page = read_page(doc)
    return {
        "meta": dict(page.meta),
        "blocks": [
            {
                "id": block.id,
                "type": None if block.type is None else block.type.value,
                "label": block.label,
                "config": dict(block.config),
                "value": dict(block.value),
            }
            for block in page.blocks
        ],
        "problems": [{"path": p.path, "message": p.message} for p in page.problems],
    }


def register(api: Api, documents: Documents) -> None:
    async def get_page(call: Call) -> Response:
        page_id: str = call.path["page_id"]
        key = DocKey(call.project_id, DocKind.PAGE, page_id)
        page = await documents.read(key, _page_json, cached=True)
        return JSONResponse({"id": page_id, **page})

    api.add(
        Endpoint(
            "GET",
            "/api/v1/projects/{project_id}/pages/{page_id}",
            get_page,
            Auth.READ,
            "A page with its blocks in display order, from its live document",
            "pages",
            response=ref("PageDocument"),
        )
    )
