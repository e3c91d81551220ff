"""Which blob store the settings ask for: S3 when `STORYARN_S3_BUCKET` is set, else a folder.

Opened by the lifespan (`server/app.py`), which puts it on `Services.blobs`.
"""

from __future__ import annotations

import structlog

from persistence.blobs import BlobStore, LocalBlobStore, S3BlobStore
from persistence.blobs_s3 import s3_client
from server.settings import Settings

log = structlog.get_logger(__name__)


def open_blob_store(settings: Settings) -> BlobStore:
    """The configured store. Nothing is contacted here: `/health` reports whether it answers."""
    if settings.s3_bucket:
        client = s3_client(endpoint_url=settings.s3_endpoint_url, region=settings.s3_region)
        log.info("blob_store_opened", kind="s3", bucket=settings.s3_bucket)
        return S3BlobStore(client, settings.s3_bucket)
    root = settings.data_dir / "blobs"
    log.info("blob_store_opened", kind="local", root=str(root))
    return LocalBlobStore(root)
