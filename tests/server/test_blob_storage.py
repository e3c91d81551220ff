"""The settings choose the blob store: a folder under the data dir, or an S3 bucket."""

from __future__ import annotations

from pathlib import Path

import pytest

from persistence.blobs import LocalBlobStore, S3BlobStore, read_all
from server.blob_storage import open_blob_store
from server.settings import load_settings
from tests.support.s3 import CREDENTIALS, REGION, new_bucket

DEV = {"STORYARN_ENV": "development"}  # the other settings' checks are not under test here


def test_blob_storage_defaults_to_a_folder_in_the_data_dir(tmp_path: Path) -> None:
    store = open_blob_store(load_settings(DEV | {"STORYARN_DATA_DIR": str(tmp_path)}))
    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "blobs").resolve()


async def test_blob_storage_uses_the_configured_bucket(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # boto3 reads credentials from the environment, as in production.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    bucket = new_bucket(s3_endpoint)
    settings = load_settings(
        DEV
        | {
            "STORYARN_S3_BUCKET": bucket,
            "STORYARN_S3_ENDPOINT_URL": s3_endpoint,
            "STORYARN_S3_REGION": REGION,
        }
    )
    store = open_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    await store.check()
    await store.put("projects/p/assets/x", b"bytes", "application/pdf")
    assert await read_all(store, "projects/p/assets/x") == b"bytes"


def test_blob_storage_settings_are_checked() -> None:
    from server.settings import SettingsError

    for bad in (
        {"STORYARN_BLOB_URL_TTL_SECONDS": "0"},
        {"STORYARN_BLOB_URL_TTL_SECONDS": "604801"},
        {"STORYARN_MAX_ASSET_BYTES": "0"},
        {"STORYARN_MAX_IMAGE_PIXELS": "-1"},
    ):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            load_settings(DEV | bad)
