"""Asset rows on SQLite and Postgres: one row per content, upload order, type filters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from persistence.assets import Asset, AssetStore, new_asset_id
from persistence.engine import create_engine, sqlite_url
from persistence.migrate import upgrade
from persistence.projection_queries import InvalidCursor


@pytest.fixture(params=["sqlite", "postgres"])
async def assets(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[AssetStore]:
    url = sqlite_url(tmp_path) if request.param == "sqlite" else postgres_url
    engine = create_engine(url)
    if request.param == "sqlite":
        await upgrade(engine)
    try:
        yield AssetStore(engine)
    finally:
        await engine.dispose()


def make(project: str, content_type: str, sha: str, **changes: object) -> Asset:
    asset = Asset(
        project_id=project,
        id=new_asset_id(),
        filename="f",
        content_type=content_type,
        size=3,
        key=f"projects/{project}/assets/{sha}",
        blob_hash=sha,
        metadata={"width": 1, "height": 2} if content_type.startswith("image/") else {},
        uploaded_by="ann",
        created_at=datetime.now(UTC),
    )
    return replace(asset, **changes)  # type: ignore[arg-type]


async def test_assets_same_key_is_one_row(assets: AssetStore) -> None:
    project = uuid.uuid4().hex[:12]
    first, created = await assets.add(make(project, "image/png", "a" * 64))
    assert created
    again, created = await assets.add(make(project, "image/png", "a" * 64, filename="other"))
    assert not created
    assert again == first
    got = await assets.get(project, first.id)
    assert got == first
    assert got is not None and got.created_at.tzinfo is not None


async def test_assets_list_in_upload_order_with_filters(assets: AssetStore) -> None:
    project = uuid.uuid4().hex[:12]
    made = [
        (await assets.add(make(project, kind, str(i) * 64)))[0]
        for i, kind in enumerate(["image/png", "audio/ogg", "image/jpeg", "application/pdf"])
    ]
    await assets.add(make("elsewhere-" + project, "image/png", "9" * 64))
    everything = await assets.list(project, limit=3)
    assert [a.id for a in everything.items] == [a.id for a in made[:3]]
    assert everything.next_cursor is not None
    rest = await assets.list(project, limit=3, cursor=everything.next_cursor)
    assert [a.id for a in rest.items] == [made[3].id]
    assert rest.next_cursor is None
    images = await assets.list(project, content_type="image/*")
    assert [a.content_type for a in images.items] == ["image/png", "image/jpeg"]
    pdfs = await assets.list(project, content_type="application/pdf")
    assert [a.id for a in pdfs.items] == [made[3].id]
    with pytest.raises(InvalidCursor):
        await assets.list(project, cursor="not-a-cursor")


async def test_assets_remove_returns_the_row_once(assets: AssetStore) -> None:
    project = uuid.uuid4().hex[:12]
    asset, _ = await assets.add(make(project, "audio/mpeg", "b" * 64))
    assert await assets.remove(project, asset.id) == asset
    assert await assets.remove(project, asset.id) is None
    assert await assets.get(project, asset.id) is None
    assert await assets.by_key(project, asset.key) is None
