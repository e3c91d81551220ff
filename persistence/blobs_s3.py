"""`S3BlobStore`: blobs as objects in one bucket of any S3 endpoint (R2 in production).

boto3 is synchronous, so every call runs in a thread (its clients are thread-safe). A stream
goes up as a multipart upload in parts of `PART_BYTES`, so memory stays bounded whatever its
size; a stream that ends within the first part is one PUT. A failed or abandoned upload is
aborted, so no part lingers and no half-object ever appears.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import boto3  # type: ignore[import-untyped]  # no stubs; calls are wrapped in typed methods
import structlog
from botocore.config import Config  # type: ignore[import-untyped]  # as above
from botocore.exceptions import (  # type: ignore[import-untyped]  # as above
    BotoCoreError,
    ClientError,
)

from persistence.blob_base import (
    CHUNK_BYTES,
    BlobNotFound,
    BlobStorageUnavailable,
    check_key,
    content_disposition,
)

log = structlog.get_logger(__name__)

PART_BYTES = 8 * 1024 * 1024  # S3's minimum part is 5 MiB (except the last)
_MISSING = {"404", "NoSuchKey", "NotFound"}


def s3_client(*, endpoint_url: str = "", region: str = "", **credentials: str) -> Any:
    """A boto3 client; credentials come from boto3's usual chain (AWS_* variables, files)
    unless given, as tests give them for a local S3 server."""
    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        signature_version="s3v4",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        config=config,
        **credentials,
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    async def _call(self, method: Callable[..., Any], /, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(method, Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise BlobNotFound(str(kwargs.get("Key", ""))) from exc
            raise BlobStorageUnavailable(f"S3 {_code(exc)}: {exc}") from exc
        except BotoCoreError as exc:  # connection refused, timeouts, missing credentials
            raise BlobStorageUnavailable(f"S3: {exc}") from exc

    async def put(self, key: str, data: bytes | AsyncIterator[bytes], content_type: str) -> int:
        check_key(key)
        if isinstance(data, bytes):
            await self._call(self._client.put_object, Key=key, Body=data, ContentType=content_type)
            return len(data)
        return await self._put_stream(key, data, content_type)

    async def _put_stream(self, key: str, data: AsyncIterator[bytes], content_type: str) -> int:
        buffer = bytearray()
        iterator = aiter(data)
        async for chunk in iterator:
            buffer += chunk
            if len(buffer) >= PART_BYTES:
                break
        else:
            await self._call(
                self._client.put_object, Key=key, Body=bytes(buffer), ContentType=content_type
            )
            return len(buffer)
        created = await self._call(
            self._client.create_multipart_upload, Key=key, ContentType=content_type
        )
        upload_id = created["UploadId"]
        parts: list[dict[str, Any]] = []
        size = 0
        try:

            async def send(body: bytes) -> None:
                nonlocal size
                answer = await self._call(
                    self._client.upload_part,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=len(parts) + 1,
                    Body=body,
                )
                parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
                size += len(body)

            while len(buffer) >= PART_BYTES:
                await send(bytes(buffer[:PART_BYTES]))
                del buffer[:PART_BYTES]
            async for chunk in iterator:
                buffer += chunk
                while len(buffer) >= PART_BYTES:
                    await send(bytes(buffer[:PART_BYTES]))
                    del buffer[:PART_BYTES]
            if buffer or not parts:
                await send(bytes(buffer))
            await self._call(
                self._client.complete_multipart_upload,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            # Also on cancellation: an unfinished upload's parts are billed until aborted.
            await asyncio.shield(self._abort(key, upload_id))
            raise
        return size

    async def _abort(self, key: str, upload_id: str) -> None:
        try:
            await self._call(self._client.abort_multipart_upload, Key=key, UploadId=upload_id)
        except (BlobNotFound, BlobStorageUnavailable) as exc:
            # A bucket lifecycle rule for incomplete uploads is the backstop (operations.md).
            log.warning("blob_upload_abort_failed", key=key, error=str(exc))

    async def open(self, key: str) -> AsyncIterator[bytes]:
        check_key(key)
        answer = await self._call(self._client.get_object, Key=key)
        return _chunks(answer["Body"])

    async def exists(self, key: str) -> bool:
        check_key(key)
        try:
            await self._call(self._client.head_object, Key=key)
        except BlobNotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        check_key(key)
        await self._call(self._client.delete_object, Key=key)

    async def listing(self) -> list[tuple[str, int]]:
        def pages() -> list[tuple[str, int]]:
            paginator = self._client.get_paginator("list_objects_v2")
            return sorted(
                (item["Key"], int(item["Size"]))
                for page in paginator.paginate(Bucket=self.bucket)
                for item in page.get("Contents", [])
            )

        try:
            return await asyncio.to_thread(pages)
        except (ClientError, BotoCoreError) as exc:
            raise BlobStorageUnavailable(str(exc)) from exc

    async def download_url(self, key: str, *, expires_seconds: int, filename: str) -> str | None:
        check_key(key)
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentDisposition": content_disposition(filename),
        }
        # Signing is local computation: no request is made here.
        url: str = self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds
        )
        return url

    async def check(self) -> None:
        try:
            await self._call(self._client.head_bucket)
        except BlobNotFound as exc:
            raise BlobStorageUnavailable(f"S3: no bucket {self.bucket!r}") from exc


async def _chunks(body: Any) -> AsyncIterator[bytes]:
    try:
        while True:
            try:
                chunk: bytes = await asyncio.to_thread(body.read, CHUNK_BYTES)
            except (BotoCoreError, OSError) as exc:
                raise BlobStorageUnavailable(f"S3 read: {exc}") from exc
            if not chunk:
                return
            yield chunk
    finally:
        body.close()
