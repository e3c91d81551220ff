"""One contract, every store: memory, SQLite and Postgres."""

import asyncio
import uuid
from typing import Any

from pycrdt import Doc, Map

from crdt.schema import DocKey, DocKind
from crdt.update_split import split_update
from persistence.store import DocumentStore, PendingUpdate, VersionKind


def _key() -> DocKey:
    # Each test has documents of its own: the Postgres database is shared by the run.
    return DocKey(f"p-{uuid.uuid4().hex[:8]}", DocKind.FLOW, "f1")


def _updates(n: int, prefix: str = "n") -> list[bytes]:
    doc: Doc[Any] = Doc()
    doc["nodes"] = nodes = Map()
    out: list[bytes] = []
    doc.observe(lambda event: out.append(event.update))
    for i in range(n):
        nodes[f"{prefix}{i}"] = i
    return out


def _pending(updates: list[bytes]) -> list[PendingUpdate]:
    return [PendingUpdate(u, "ann", "conn:16") for u in updates]


def _rebuild(updates: list[bytes]) -> dict[str, Any]:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc.get("nodes", type=Map).to_py() or {}


async def test_store_unknown_document_loads_as_none(store: DocumentStore) -> None:
    assert await store.load(_key()) is None


async def test_store_create_makes_an_empty_document(store: DocumentStore) -> None:
    key = _key()
    await store.create(key)
    await store.create(key)  # idempotent
    loaded = await store.load(key)
    assert loaded is not None
    assert (loaded.updates, loaded.seq, loaded.log_rows) == ([], 0, 0)


async def test_store_append_numbers_gaplessly_and_loads_in_order(store: DocumentStore) -> None:
    key = _key()
    updates = _updates(7)
    assert await store.append(key, _pending(updates[:3])) == 3
    assert await store.append(key, _pending(updates[3:])) == 7
    loaded = await store.load(key)
    assert loaded is not None
    assert loaded.updates == updates
    assert (loaded.seq, loaded.log_rows) == (7, 7)
    assert loaded.log_bytes == sum(len(u) for u in updates)


async def test_store_concurrent_appends_never_share_a_number(store: DocumentStore) -> None:
    key = _key()
    batches = [_pending(_updates(5, prefix=f"b{i}-")) for i in range(8)]
    lasts = await asyncio.gather(*(store.append(key, batch) for batch in batches))
    assert sorted(lasts) == [5 * (i + 1) for i in range(8)]
    loaded = await store.load(key)
    assert loaded is not None and loaded.seq == 40 and len(loaded.updates) == 40


async def test_store_snapshot_folds_the_log(store: DocumentStore) -> None:
    key = _key()
    updates = _updates(10)
    await store.append(key, _pending(updates[:6]))
    await store.write_snapshot(key, _merged(updates[:6]), 6)
    await store.append(key, _pending(updates[6:]))
    loaded = await store.load(key)
    assert loaded is not None
    assert (loaded.seq, loaded.log_rows, len(loaded.updates)) == (10, 4, 5)
    assert _rebuild(loaded.updates) == _rebuild(updates)


async def test_store_snapshot_in_pieces_loads_as_its_pieces_in_order(store: DocumentStore) -> None:
    key = _key()
    updates = _updates(60)
    await store.append(key, _pending(updates))
    pieces = split_update(_merged(updates[:50]), max_bytes=64, max_structs=4)
    assert len(pieces) > 3
    await store.write_snapshot(key, pieces, 50)
    loaded = await store.load(key)
    assert loaded is not None
    assert (loaded.seq, loaded.log_rows) == (60, 10)
    assert loaded.updates == [*pieces, *updates[50:]]
    assert _rebuild(loaded.updates) == _rebuild(updates)
    # A whole snapshot written later replaces the pieces.
    await store.write_snapshot(key, _merged(updates), 60)
    again = await store.load(key)
    assert again is not None
    assert len(again.updates) == 1 and _rebuild(again.updates) == _rebuild(updates)


async def test_store_older_snapshot_never_replaces_a_newer_one(store: DocumentStore) -> None:
    key = _key()
    updates = _updates(10)
    await store.append(key, _pending(updates))
    # Two instances compact at once; the one that covers less arrives last.
    await store.write_snapshot(key, _merged(updates[:9]), 9)
    await store.write_snapshot(key, _merged(updates[:4]), 4)
    loaded = await store.load(key)
    assert loaded is not None
    assert (loaded.seq, loaded.log_rows) == (10, 1)
    assert _rebuild(loaded.updates) == _rebuild(updates)


async def test_store_versions_are_listed_newest_first(store: DocumentStore) -> None:
    key = _key()
    updates = _updates(3)
    await store.append(key, _pending(updates))
    first = await store.save_version(
        key, _merged(updates[:1]), 1, kind=VersionKind.AUTO, name=None, author_id=None
    )
    second = await store.save_version(
        key, _merged(updates), 3, kind=VersionKind.NAMED, name="Draft 1", author_id="ann"
    )
    listed = await store.list_versions(key)
    assert [v.id for v in listed] == [second.id, first.id]
    assert listed[0].name == "Draft 1" and listed[0].kind is VersionKind.NAMED
    fetched = await store.get_version(key, first.id)
    assert fetched is not None and _rebuild([fetched.state]) == {"n0": 0.0}
    assert await store.get_version(key, 10_000_000) is None
    assert await store.list_versions(_key()) == []


async def test_store_check_answers(store: DocumentStore) -> None:
    await store.check()


def _merged(updates: list[bytes]) -> bytes:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc.get_update()


async def test_store_load_since_returns_what_a_holder_lacks(store: DocumentStore) -> None:
    key = _key()
    updates = _updates(10)
    await store.append(key, _pending(updates))
    since = await store.load_since(key, 7)
    assert since is not None
    assert (since.updates, since.seq) == (updates[7:], 10)
    await store.write_snapshot(key, _merged(updates[:8]), 8)
    # Compaction folded seq 6..8 away: the holder of 5 gets the snapshot and what follows.
    behind = await store.load_since(key, 5)
    assert behind is not None and behind.seq == 10 and len(behind.updates) == 3
    assert _rebuild(behind.updates) == _rebuild(updates)
    ahead = await store.load_since(key, 9)
    assert ahead is not None and ahead.updates == updates[9:]
    current = await store.load_since(key, 10)
    assert current is not None and (current.updates, current.seq) == ([], 10)
