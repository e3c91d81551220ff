"""A real S3 endpoint for tests: moto's standalone server as a subprocess on a loopback port.

Nothing is mocked in-process: boto3 speaks HTTP to it exactly as it would to R2.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from persistence.blobs import S3BlobStore
from persistence.blobs_s3 import s3_client

# moto accepts any credentials; fixed ones keep boto3 from looking for real ones.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """The endpoint URL of a fresh moto server, killed on exit."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"moto server exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(10)


def client(endpoint: str) -> Any:
    return s3_client(endpoint_url=endpoint, region=REGION, **CREDENTIALS)


def new_bucket(endpoint: str) -> str:
    """A new empty bucket, so that tests sharing one server never see each other's blobs."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    client(endpoint).create_bucket(Bucket=name)
    return name


def s3_store(endpoint: str) -> S3BlobStore:
    return S3BlobStore(client(endpoint), new_bucket(endpoint))
