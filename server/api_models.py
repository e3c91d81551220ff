"""JSON Schemas of what `/api/v1` answers: the shared shapes the OpenAPI document references.

Request bodies are dataclasses beside their routes (`server/api_schema.py` derives their
schemas); responses are plain dicts built by the routes, described here once. The schemathesis
test checks every answer against these, so a route that drifts from its schema fails there.
"""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_OBJECT = {"type": "object"}


def ref(name: str) -> dict[str, Any]:
    if name not in SCHEMAS:
        raise KeyError(f"no schema named {name}")
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(name: str) -> dict[str, Any]:
    """A page of a list (server/api_pagination.py)."""
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": ref(name)},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as ?cursor= for the next page; null on the last page.",
            },
        },
    }


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": obj(
                {"code": _STR, "message": _STR},
                {
                    "details": {
                        "type": "array",
                        "items": obj({"field": _STR, "message": _STR}),
                    }
                },
            )
        }
    ),
    "Problem": obj({"path": _STR, "message": _STR}),
    "Me": obj({"user_id": _STR, "role": {"type": "string", "enum": ["owner", "editor", "viewer"]}}),
    "Version": obj(
        {
            "id": {"type": "integer"},
            "seq": {"type": "integer"},
            "kind": {"type": "string", "enum": ["named", "auto", "restore"]},
            "name": _NULLABLE_STR,
            "author_id": _NULLABLE_STR,
            "created_at": {"type": "string", "format": "date-time"},
        }
    ),
    "Member": obj(
        {"user_id": _STR, "role": {"type": "string", "enum": ["owner", "editor", "viewer"]}}
    ),
    "AuditEntry": obj(
        {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "actor": _STR,
            "action": _STR,
            "target": _NULLABLE_STR,
            "detail": _NULLABLE_STR,
            "client_address": _NULLABLE_STR,
        }
    ),
    "TreeItem": obj(
        {
            "id": _STR,
            "kind": {"type": "string", "enum": ["flows", "pages"]},
            "name": _STR,
            "shortcut": _NULLABLE_STR,
            "parent_id": _NULLABLE_STR,
            "position": _STR,
            "deleted_at": _NULLABLE_STR,
        }
    ),
    "Node": obj(
        {
            "id": _STR,
            "type": _NULLABLE_STR,
            "x": {"type": "number"},
            "y": {"type": "number"},
            "data": _OBJECT,
            "inputs": {"type": "array", "items": _STR},
            "outputs": {"type": "array", "items": _STR},
        }
    ),
    "Connection": obj(
        {
            "id": _STR,
            "source_node_id": _STR,
            "source_pin": _STR,
            "target_node_id": _STR,
            "target_pin": _STR,
            "label": _NULLABLE_STR,
        }
    ),
    "Block": obj(
        {"id": _STR, "type": _NULLABLE_STR, "label": _STR, "config": _OBJECT, "value": _OBJECT}
    ),
}

SCHEMAS["TreeEntry"] = obj(
    {
        "id": _STR,
        "kind": {"type": "string", "enum": ["flows", "pages"]},
        "name": _NULLABLE_STR,
        "shortcut": _NULLABLE_STR,
        "parent_id": _NULLABLE_STR,
        "position": _STR,
        "deleted": {"type": "boolean"},
        "seq": {"type": "integer", "description": "the document seq this row was projected from"},
    }
)
SCHEMAS["FlowSummary"] = obj(
    {
        "id": _STR,
        "name": _NULLABLE_STR,
        "shortcut": _NULLABLE_STR,
        "description": _NULLABLE_STR,
        "is_main": {"type": "boolean"},
        "entry_node_id": _NULLABLE_STR,
        "node_count": {"type": "integer"},
        "connection_count": {"type": "integer"},
        "seq": {"type": "integer"},
    }
)
SCHEMAS["ProjectedNode"] = obj(
    {
        "id": _STR,
        "type": _NULLABLE_STR,
        "x": {"type": ["number", "null"]},
        "y": {"type": ["number", "null"]},
        "data": _OBJECT,
    }
)
SCHEMAS["Locale"] = obj({"code": _STR, "name": _STR, "is_source": {"type": "boolean"}})
SCHEMAS["LocalizedText"] = obj(
    {
        "doc_kind": {"type": "string", "enum": ["flows", "pages"]},
        "doc_id": _STR,
        "source_type": _STR,
        "source_id": _STR,
        "source_field": _STR,
        "locale": _STR,
        "source_text": _STR,
        "translated_text": _NULLABLE_STR,
        "status": {
            "type": "string",
            "enum": ["pending", "draft", "in_progress", "review", "final"],
        },
        "translator_notes": _NULLABLE_STR,
        "speaker": _NULLABLE_STR,
        "word_count": {"type": "integer"},
        "seq": {"type": "integer"},
    }
)
SCHEMAS["Backlink"] = obj(
    {
        "doc_kind": {"type": "string", "enum": ["flows", "pages"]},
        "doc_id": _STR,
        "source_type": _STR,
        "source_id": _STR,
        "context": _STR,
    }
)
SCHEMAS["Translation"] = obj(
    {
        "source_type": {"type": "string", "enum": ["flow_node", "block", "page"]},
        "source_id": _STR,
        "field": _STR,
        "locale": _STR,
        "text": _NULLABLE_STR,
        "status": {
            "type": "string",
            "enum": ["pending", "draft", "in_progress", "review", "final"],
        },
        "translator_notes": _NULLABLE_STR,
    }
)
SCHEMAS["FlowDocument"] = obj(
    {
        "id": _STR,
        "document": obj({"meta": _OBJECT, "nodes": _OBJECT, "connections": _OBJECT}),
        "problems": {"type": "array", "items": ref("Problem")},
    }
)
SCHEMAS["PageDocument"] = obj(
    {
        "id": _STR,
        "meta": _OBJECT,
        "blocks": {"type": "array", "items": ref("Block")},
        "problems": {"type": "array", "items": ref("Problem")},
    }
)
SCHEMAS["VersionWithDocument"] = obj({"version": ref("Version"), "document": _OBJECT})
SCHEMAS["VersionResult"] = obj({"version": ref("Version")})
SCHEMAS["MemberChange"] = obj(
    {
        "member": ref("Member"),
        "previous_role": {"type": ["string", "null"], "enum": ["owner", "editor", "viewer", None]},
    }
)
SCHEMAS["Job"] = obj(
    {
        "id": _STR,
        "project_id": _STR,
        "kind": _STR,
        "format": _NULLABLE_STR,
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed", "expired"]},
        "percent": {"type": "integer", "minimum": 0, "maximum": 100},
        "error": _NULLABLE_STR,
        "download_url": _NULLABLE_STR,
        "filename": _NULLABLE_STR,
        "size": {"type": ["integer", "null"]},
        "created_by": _NULLABLE_STR,
        "created_at": _STR,
        "updated_at": _STR,
    }
)
SCHEMAS["JobResult"] = obj({"job": ref("Job")})
SCHEMAS["Asset"] = obj(
    {
        "id": _STR,
        "filename": _STR,
        "content_type": {
            "type": "string",
            "enum": [
                "image/jpeg",
                "image/png",
                "image/gif",
                "image/webp",
                "audio/mpeg",
                "audio/wav",
                "audio/ogg",
                "audio/webm",
                "application/pdf",
            ],
        },
        "size": {"type": "integer", "minimum": 1},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "metadata": obj(
            {},
            {
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "duration": {"type": "number"},
            },
        ),
        "uploaded_by": _NULLABLE_STR,
        "created_at": {"type": "string", "format": "date-time"},
        "content_url": _STR,
        "thumbnail_url": _NULLABLE_STR,
    }
)
