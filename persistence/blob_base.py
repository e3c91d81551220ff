"""What every blob store shares: the error tree, key checking and chunk size.

Kept apart from `persistence/blobs.py` (the port) so that the adapters can import it while
the port module re-exports them, without an import cycle.
"""

from __future__ import annotations

import re
from urllib.parse import quote

CHUNK_BYTES = 1024 * 1024
MAX_KEY_LENGTH = 1024
# No segment is empty or starts with a dot (no ".", "..", hidden files or our `.tmp`), and
# nothing but ASCII letters, digits and `._-` (no backslashes, no absolute paths).
_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$")


class BlobError(Exception):
    """A blob operation failed."""


class BlobNotFound(BlobError):
    """No blob under that key."""


class InvalidBlobKey(BlobError, ValueError):
    """A key that is not a plain relative path of safe segments."""


class BlobStorageUnavailable(BlobError):
    """The storage did not answer or refused (disk full, S3 down, wrong credentials)."""


def check_key(key: str) -> str:
    """The key itself, or `InvalidBlobKey` when it could escape the root or is malformed."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key) or ".." in key.split("/"):
        raise InvalidBlobKey(f"invalid blob key {key[:80]!r}")
    return key


def content_disposition(filename: str) -> str:
    """An `attachment` header value that survives any filename (RFC 6266 / RFC 5987)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename)[:150] or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename[:200])}"
