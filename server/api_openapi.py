"""The OpenAPI 3.1 document of `/api/v1`, written from the route registry.

Served at `GET /api/v1/openapi.json`, itself a registered route. Nothing here is typed by hand
per route: paths, parameters, bodies and statuses come from each `Endpoint`, the shared
response shapes from `server/api_models.py`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from server import __version__
from server.api_models import SCHEMAS, ref
from server.api_registry import PATH_PARAMS, Api, Auth, Call, Endpoint
from server.api_schema import json_schema, query_parameters

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "The body is not JSON",
    401: "No valid token",
    403: "The caller's role does not allow it",
    404: "Not found (or an invalid id in the path)",
    409: "Conflicts with the current state",
    413: "The body is over its limit (1 MiB for JSON; STORYARN_MAX_ASSET_BYTES for uploads)",
    415: "Unsupported media type (uploads: read from the content, not the name)",
    422: "The query or body does not fit the schema, or names something that does not exist",
    429: "Rate limited: retry after Retry-After seconds",
    503: "Storage unavailable: retry later",
}


# Path examples name the demo content of docs/api.md; schemathesis' examples phase starts there.
PATH_EXAMPLES = {
    "project_id": "demo",
    "kind": "flows",
    "doc_id": "intro",
    "flow_id": "intro",
    "page_id": "cast",
    "node_id": "n1",
    "connection_id": "c1",
    "version_id": 1,
    "user_id": "bob",
    "locale": "fr",
    "job_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "asset_id": "0190f5a1c2d3e4f5a6b7c8d9e0f1a2b3",
}


def _operation(endpoint: Endpoint, operation_ids: set[str]) -> dict[str, Any]:
    operation_id = endpoint.handler.__name__
    if operation_id in operation_ids:  # the same handler on two paths (tree and documents)
        operation_id = f"{operation_id}_{len(operation_ids)}"
    operation_ids.add(operation_id)
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_PARAMS[name],
            "example": PATH_EXAMPLES[name],
        }
        for name in endpoint.params
    ]
    if endpoint.query is not None:
        parameters += query_parameters(endpoint.query)
    success: dict[str, Any] = {"description": _REASONS.get(endpoint.status, "OK")}
    if endpoint.response is not None:
        success["content"] = {endpoint.media_type: {"schema": endpoint.response}}
    responses: dict[str, Any] = {str(endpoint.status): success}
    responses |= {str(status): answer for status, answer in endpoint.responses.items()}
    for status in endpoint.error_statuses():
        responses[str(status)] = {
            "description": _REASONS.get(status, "Error"),
            "content": {"application/json": {"schema": ref("Error")}},
        }
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "x-storyarn-auth": endpoint.auth.value,
        "responses": responses,
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if parameters:
        operation["parameters"] = parameters
    if endpoint.auth is Auth.NONE:
        operation["security"] = []
    if endpoint.request_body is not None:
        operation["requestBody"] = endpoint.request_body
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": not endpoint.body_optional,
            "content": {"application/json": {"schema": json_schema(endpoint.body)}},
        }
    return operation


def openapi_document(api: Api) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for endpoint in api.endpoints:
        operations = paths.setdefault(endpoint.openapi_path, {})
        operations[endpoint.method.lower()] = _operation(endpoint, operation_ids)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Storyarn collaboration server",
            "version": __version__,
            "description": "REST API of the Storyarn server. Documents are edited live over "
            "the websocket; these routes read them and apply server-side edits that connected "
            "editors receive at once. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": dict(SCHEMAS),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JWT (`storyarn token issue USER`); in development, any "
                    "name is accepted as an editor of that name.",
                }
            },
        },
    }


def register(api: Api) -> None:
    document: dict[str, Any] | None = None

    async def openapi(call: Call) -> Response:
        nonlocal document
        if document is None:  # built once: the registry is complete before the first request
            document = openapi_document(api)
        return JSONResponse(document)

    api.add(
        Endpoint(
            "GET",
            "/api/v1/openapi.json",
            openapi,
            Auth.NONE,
            "This document",
            "meta",
            response={"type": "object"},
        )
    )
