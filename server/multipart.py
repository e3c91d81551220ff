"""A streaming `multipart/form-data` reader for one uploaded file.

Starlette's form parser needs python-multipart and spools every part before the handler sees
it; an upload must instead be counted and hashed while it arrives, and refused mid-stream.
This reads the request body once: fields before the file are skipped (bounded), the file's
bytes are yielded as they come, and the rest is drained (bounded) to check the body is whole.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from urllib.parse import unquote

from server.http_auth import HttpError

MAX_HEADER_BYTES = 16 * 1024  # one part's headers
MAX_FIELD_BYTES = 64 * 1024  # a non-file part, skipped
MAX_PARTS = 20
_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^\s;,"]{1,70}))', re.IGNORECASE)
_PARAM = re.compile(r'([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


def _bad(message: str) -> HttpError:
    return HttpError(400, message, code="bad_multipart")


def boundary_of(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type; 415 for any other type."""
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise HttpError(415, "send the file as multipart/form-data", code="unsupported_media_type")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise _bad("the multipart Content-Type has no boundary")
    return (match.group(1) or match.group(2)).encode("latin-1")


def _disposition(headers: bytes) -> dict[str, str]:
    for line in headers.decode("utf-8", errors="replace").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            params: dict[str, str] = {}
            for key, quoted, bare in _PARAM.findall(value):
                raw = quoted.replace('\\"', '"') if quoted else bare.strip()
                if key.lower() == "filename*" and "''" in raw:  # RFC 5987: charset''percent-enc
                    raw = unquote(raw.split("''", 1)[1])
                    key = "filename"
                params.setdefault(key.lower(), raw)
            return params
    return {}


class MultipartFile:
    """`filename = await reader.next_file()`, then `async for chunk in reader.data()`, then
    `await reader.finish()`."""

    def __init__(self, content_type: str, stream: AsyncIterator[bytes]) -> None:
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary_of(content_type)
        self._buffer = bytearray()
        self._parts = 0
        self._ended = False

    async def _fill(self) -> None:
        try:
            chunk = await anext(self._stream)
        except StopAsyncIteration:
            raise _bad("the body ended before the multipart closing boundary") from None
        self._buffer += chunk

    async def _until(self, marker: bytes, limit: int, what: str) -> bytes:
        while (at := self._buffer.find(marker)) < 0:
            if len(self._buffer) > limit:
                raise _bad(f"{what} is over {limit} bytes")
            await self._fill()
        found = bytes(self._buffer[:at])
        del self._buffer[: at + len(marker)]
        return found

    async def _take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            await self._fill()
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    async def _after_delimiter(self) -> bool:
        """True when another part follows, False at the closing `--`."""
        ending = await self._take(2)
        if ending == b"--":
            self._ended = True
            return False
        if ending != b"\r\n":
            raise _bad("malformed multipart boundary line")
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise _bad(f"more than {MAX_PARTS} parts")
        return True

    async def next_file(self) -> str:
        """Skip to the first part that carries a filename; return that name."""
        # The first delimiter may open the body, without the CRLF that precedes later ones.
        self._buffer += b"\r\n"
        await self._until(self._delimiter, MAX_FIELD_BYTES, "the preamble")
        while await self._after_delimiter():
            while len(self._buffer) < 2:
                await self._fill()
            if self._buffer.startswith(b"\r\n"):  # a part without headers
                del self._buffer[:2]
                headers = b""
            else:
                headers = await self._until(b"\r\n\r\n", MAX_HEADER_BYTES, "a part's headers")
            params = _disposition(headers)
            if "filename" in params:
                return params["filename"]
            await self._until(self._delimiter, MAX_FIELD_BYTES, "a form field")
        raise HttpError(422, "the form has no file part", code="no_file")

    async def data(self) -> AsyncGenerator[bytes, None]:
        """The file part's bytes, as they arrive."""
        keep = len(self._delimiter) - 1  # a delimiter may straddle two chunks
        while (at := self._buffer.find(self._delimiter)) < 0:
            if len(self._buffer) > keep:
                yield bytes(self._buffer[:-keep])
                del self._buffer[:-keep]
            await self._fill()
        if at:
            yield bytes(self._buffer[:at])
        del self._buffer[: at + len(self._delimiter)]

    async def finish(self) -> None:
        """Skip the parts after the file (bounded) and check the body ends properly."""
        while not self._ended and await self._after_delimiter():
            await self._until(self._delimiter, MAX_FIELD_BYTES + MAX_HEADER_BYTES, "a form field")
