"""REST writes on the project tree: create, rename, move and delete pages and flows.

POST   /api/v1/projects/{project_id}/{flows|pages}                  create (201)
PATCH  /api/v1/projects/{project_id}/flows/{flow_id}                rename, set the shortcut
POST   /api/v1/projects/{project_id}/flows/{flow_id}/move           new parent and place
DELETE /api/v1/projects/{project_id}/flows/{flow_id}                to the trash (deletedAt)
(and the same under /pages/{page_id})

Each is one authored edit of the tree document through `crdt/views/tree.py`, committed before
the answer. Creating also creates the item's own document (a flow gets its entry node), so the
document routes work on it at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc
from starlette.responses import JSONResponse, Response

from crdt.schema import DocKey, DocKind
from crdt.views import NodeType, add_node, read_flow, read_tree
from crdt.views.tree import (
    TreeItem,
    create_item,
    delete_item,
    move_item,
    position_at,
    rename_item,
    set_shortcut,
)
from server.api_documents import Documents
from server.api_models import ref
from server.api_registry import Api, Auth, Call, Endpoint
from server.api_schema import invalid, rule
from server.http_auth import HttpError

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# Storyarn's shortcut rule (domain.md §1.2): lowercase alphanumerics, `.` and `-` inside.
SHORTCUT_PATTERN = r"^[a-z0-9](?:[a-z0-9.-]{0,48}[a-z0-9])?$"
ENTRY_NODE_ID = "entry"  # the id the web editor gives the entry node: both may create it
_NAME = rule(min_length=1, max_length=200)


@dataclass(frozen=True, slots=True)
class CreateItem:
    """A new page or flow; the server picks a UUID when `id` is not given."""

    name: str = field(metadata=_NAME)
    id: str | None = field(default=None, metadata=rule(pattern=ID_PATTERN))
    parent_id: str | None = field(default=None, metadata=rule(pattern=ID_PATTERN))
    shortcut: str | None = field(default=None, metadata=rule(pattern=SHORTCUT_PATTERN))
    index: int | None = field(
        default=None, metadata=rule(minimum=0, description="place among siblings; default last")
    )


@dataclass(frozen=True, slots=True)
class UpdateItem:
    """New name and/or shortcut; an empty shortcut clears it."""

    name: str | None = field(default=None, metadata=_NAME)
    shortcut: str | None = field(
        default=None, metadata=rule(pattern=f"^$|{SHORTCUT_PATTERN}", max_length=50)
    )


@dataclass(frozen=True, slots=True)
class MoveItem:
    """The new parent (null: the top level) and place among its children (default: last)."""

    parent_id: str | None = field(metadata=rule(pattern=ID_PATTERN))
    index: int | None = field(default=None, metadata=rule(minimum=0))


def item_json(item: TreeItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "name": item.name,
        "shortcut": item.shortcut,
        "parent_id": item.parent_id,
        "position": item.position,
        "deleted_at": item.deleted_at,
    }


def _existing(doc: Doc[Any], kind: DocKind, item_id: str) -> TreeItem:
    item = read_tree(doc).items[kind].get(item_id)
    if item is None:
        raise HttpError(404, f"no such {kind.value[:-1]}")
    return item


def _check_shortcut(doc: Doc[Any], kind: DocKind, item_id: str, shortcut: str | None) -> None:
    if not shortcut:
        return
    for other in read_tree(doc).items[kind].values():
        if other.id != item_id and other.deleted_at is None and other.shortcut == shortcut:
            raise HttpError(409, f"shortcut {shortcut!r} is used by {other.id}", code="taken")


def _check_parent(doc: Doc[Any], kind: DocKind, parent_id: str | None) -> None:
    if parent_id is not None and parent_id not in read_tree(doc).items[kind]:
        raise invalid("parent_id", f"names no {kind.value[:-1]} of this project")


def register(api: Api, documents: Documents) -> None:
    _register_kind(api, documents, DocKind.FLOW, "flow_id")
    _register_kind(api, documents, DocKind.PAGE, "page_id")


def _register_kind(api: Api, documents: Documents, kind: DocKind, param: str) -> None:
    what = kind.value[:-1]  # "flow", "page"

    def tree(call: Call) -> DocKey:
        return DocKey(call.project_id, DocKind.TREE)

    async def create(call: Call) -> Response:
        body: CreateItem = call.body
        new_id = body.id or str(uuid.uuid4())

        def edit(doc: Doc[Any]) -> TreeItem:
            if new_id in read_tree(doc).items[kind]:
                raise HttpError(409, f"{what} {new_id!r} already exists", code="exists")
            _check_parent(doc, kind, body.parent_id)
            _check_shortcut(doc, kind, new_id, body.shortcut)
            position = None
            if body.index is not None:
                position = position_at(doc, kind, body.parent_id, body.index)
            create_item(
                doc, kind, new_id, body.name,
                parent_id=body.parent_id, shortcut=body.shortcut, position=position,
            )  # fmt: skip
            return _existing(doc, kind, new_id)

        item = await documents.edit(tree(call), call.user_id, edit, create=True)
        key = DocKey(call.project_id, kind, new_id)
        await documents.edit(key, call.user_id, _new_document(kind), create=True)
        return JSONResponse(item_json(item), status_code=201)

    async def update(call: Call) -> Response:
        body: UpdateItem = call.body
        target: str = call.path[param]

        def edit(doc: Doc[Any]) -> TreeItem:
            _existing(doc, kind, target)
            _check_shortcut(doc, kind, target, body.shortcut)  # before writing anything
            if body.name is not None:
                rename_item(doc, kind, target, body.name)
            if body.shortcut is not None:
                set_shortcut(doc, kind, target, body.shortcut or None)
            return _existing(doc, kind, target)

        return JSONResponse(item_json(await documents.edit(tree(call), call.user_id, edit)))

    async def move(call: Call) -> Response:
        body: MoveItem = call.body
        target: str = call.path[param]

        def edit(doc: Doc[Any]) -> TreeItem:
            _existing(doc, kind, target)
            _check_parent(doc, kind, body.parent_id)
            if _inside(doc, kind, body.parent_id, target):
                raise HttpError(409, f"{body.parent_id!r} is {target!r} or inside it", code="cycle")
            position = None
            if body.index is not None:
                position = position_at(doc, kind, body.parent_id, body.index, moving=target)
            move_item(doc, kind, target, body.parent_id, position=position)
            return _existing(doc, kind, target)

        return JSONResponse(item_json(await documents.edit(tree(call), call.user_id, edit)))

    async def delete(call: Call) -> Response:
        target: str = call.path[param]

        def edit(doc: Doc[Any]) -> None:
            if _existing(doc, kind, target).deleted_at is None:  # keep the first deletion time
                delete_item(doc, kind, target, deleted_at=datetime.now(UTC).isoformat())

        await documents.edit(tree(call), call.user_id, edit)
        return Response(status_code=204)

    for handler, verb in (
        (create, "create"),
        (update, "update"),
        (move, "move"),
        (delete, "delete"),
    ):
        handler.__name__ = f"{verb}_{what}"  # the OpenAPI operationId
    base = f"/api/v1/projects/{{project_id}}/{kind.value}"
    one = f"{base}/{{{param}}}"
    tree_item = ref("TreeItem")
    api.add(
        Endpoint(
            "POST", base, create, Auth.WRITE, f"Create a {what} in the tree", "tree",
            status=201, response=tree_item, body=CreateItem, errors=(409,),
        )
    )  # fmt: skip
    api.add(
        Endpoint(
            "PATCH", one, update, Auth.WRITE, f"Rename a {what} or set its shortcut", "tree",
            response=tree_item, body=UpdateItem, errors=(409,),
        )
    )  # fmt: skip
    api.add(
        Endpoint(
            "POST", f"{one}/move", move, Auth.WRITE, f"Move a {what} under another parent",
            "tree", response=tree_item, body=MoveItem, errors=(409,),
        )
    )  # fmt: skip
    api.add(
        Endpoint(
            "DELETE", one, delete, Auth.WRITE, f"Move a {what} to the trash (sets deletedAt)",
            "tree", status=204,
        )
    )  # fmt: skip


def _inside(doc: Doc[Any], kind: DocKind, node: str | None, item_id: str) -> bool:
    """Whether `node` is `item_id` or one of its descendants (moving there makes a cycle)."""
    tree = read_tree(doc)
    seen: set[str] = set()
    while node is not None and node not in seen:
        if node == item_id:
            return True
        seen.add(node)
        node = tree.parent_of(kind, node)
    return False


def _new_document(kind: DocKind) -> Callable[[Doc[Any]], None]:
    def ensure_entry(doc: Doc[Any]) -> None:
        if read_flow(doc).entry is None:  # a flow always has its entry node (domain.md §1.5)
            add_node(doc, ENTRY_NODE_ID, NodeType.ENTRY, 0.0, 0.0)

    return ensure_entry if kind is DocKind.FLOW else lambda doc: None
