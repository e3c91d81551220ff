"""Asset rows (the `assets` table of migration 0003): what was uploaded, and where its bytes are.

The bytes live in a `BlobStore` under `key`, content-addressed (`projects/P/assets/<sha256>`);
the table's unique (project, key) is what makes one file uploaded twice a single asset. Ids
start with the creation time in hex, so listing by id lists in upload order, on the
(project_id, content_type, id) index.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, insert, select, tuple_
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.projection_queries import (
    DEFAULT_LIMIT,
    ResultPage,
    decode_cursor,
    encode_cursor,
)
from persistence.projection_tables import assets
from persistence.store import StoreUnavailable

_FAULTS = (SQLAlchemyError, OSError, TimeoutError)


def new_asset_id() -> str:
    # 12 hex digits of milliseconds (good until the year 10889), then 80 random bits.
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


@dataclass(frozen=True, slots=True)
class Asset:
    project_id: str
    id: str
    filename: str
    content_type: str
    size: int
    key: str
    blob_hash: str
    metadata: dict[str, Any]  # images: width, height, thumbnail_key
    uploaded_by: str | None
    created_at: datetime


def _asset(row: Any) -> Asset:
    created = row.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes
        created = created.replace(tzinfo=UTC)
    return Asset(
        project_id=row.project_id,
        id=row.id,
        filename=row.filename,
        content_type=row.content_type,
        size=int(row.size),
        key=row.key,
        blob_hash=row.blob_hash or "",
        metadata=dict(row.metadata or {}),
        uploaded_by=row.uploaded_by,
        created_at=created,
    )


class AssetStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _rows(self, query: Select[Any]) -> list[Any]:
        try:
            async with self._engine.connect() as conn:
                return list((await conn.execute(query)).all())
        except _FAULTS as exc:
            raise StoreUnavailable(f"asset read failed: {exc.__class__.__name__}") from exc

    def _live(self, project_id: str) -> Select[Any]:
        # deleted_at is for a trash that is not built: rows carrying it are invisible.
        c = assets.c
        return select(assets).where(c.project_id == project_id, c.deleted_at.is_(None))

    async def add(self, asset: Asset) -> tuple[Asset, bool]:
        """Insert the row; `(row, True)`, or the existing row with the same key and False."""
        values = {
            "project_id": asset.project_id,
            "id": asset.id,
            "filename": asset.filename,
            "content_type": asset.content_type,
            "size": asset.size,
            "key": asset.key,
            "metadata": asset.metadata,
            "blob_hash": asset.blob_hash,
            "uploaded_by": asset.uploaded_by,
            "created_at": asset.created_at,
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(assets).values(**values))
        except IntegrityError:
            existing = await self.by_key(asset.project_id, asset.key)
            if existing is None:  # the conflicting row was deleted meanwhile: try once more
                raise StoreUnavailable("asset insert raced with a delete; retry") from None
            return existing, False
        except _FAULTS as exc:
            raise StoreUnavailable(f"asset insert failed: {exc.__class__.__name__}") from exc
        return asset, True

    async def get(self, project_id: str, asset_id: str) -> Asset | None:
        rows = await self._rows(self._live(project_id).where(assets.c.id == asset_id))
        return _asset(rows[0]) if rows else None

    async def by_key(self, project_id: str, key: str) -> Asset | None:
        rows = await self._rows(self._live(project_id).where(assets.c.key == key))
        return _asset(rows[0]) if rows else None

    async def list(
        self,
        project_id: str,
        *,
        content_type: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ResultPage[Asset]:
        """Assets in upload order; `content_type` is exact (`image/png`) or a family
        (`image/*`)."""
        c = assets.c
        query = self._live(project_id)
        if content_type is not None and content_type.endswith("/*"):
            family = content_type[:-1]
            query = query.where(c.content_type >= family, c.content_type < family[:-1] + "0")
        elif content_type is not None:
            query = query.where(c.content_type == content_type)
        if cursor is not None:
            (after,) = decode_cursor(cursor, 1)
            query = query.where(tuple_(c.id) > tuple_(str(after)))
        rows = await self._rows(query.order_by(c.id).limit(limit + 1))
        more = len(rows) > limit
        items = [_asset(r) for r in rows[:limit]]
        return ResultPage(items, encode_cursor([items[-1].id]) if more and items else None)

    async def remove(self, project_id: str, asset_id: str) -> Asset | None:
        """Delete the row and return it (None when there was none)."""
        c = assets.c
        try:
            async with self._engine.begin() as conn:
                rows = list(
                    (
                        await conn.execute(
                            select(assets).where(c.project_id == project_id, c.id == asset_id)
                        )
                    ).all()
                )
                if not rows:
                    return None
                await conn.execute(
                    delete(assets).where(c.project_id == project_id, c.id == asset_id)
                )
        except _FAULTS as exc:
            raise StoreUnavailable(f"asset delete failed: {exc.__class__.__name__}") from exc
        return _asset(rows[0])
