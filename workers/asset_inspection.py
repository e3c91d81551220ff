"""What an uploaded file is, decided from its bytes, and what images need: size and thumbnail.

The type comes from magic bytes only, never from the name or the declared type, so a script
renamed `.png` stays refused. SVG is recognised in order to refuse it: it can carry scripts,
and there is no sanitiser. Images are decoded here, in a thread (`inspect_image` is
synchronous); their pixel count is checked from the header before anything is decoded, so a
small file that claims a huge canvas is refused without allocating it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import IO

from PIL import Image

SNIFF_BYTES = 64  # enough for every signature below
THUMBNAIL_PX = 200
SVG = "image/svg+xml"
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
ALLOWED_TYPES = IMAGE_TYPES | {
    "audio/mpeg",
    "audio/wav",
    "audio/ogg",
    "audio/webm",
    "application/pdf",
}
_PILLOW_FORMAT = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
_SVG_START = re.compile(rb"^(\xef\xbb\xbf)?\s*(<\?xml|<!--|<!doctype\s+svg|<svg)", re.IGNORECASE)


def _mp3_frame(head: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, a valid version and a layer (not AAC's 00).
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    return version != 0b01 and layer != 0b00 and bitrate != 0b1111


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes prove, SVG included (to be refused), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"ID3") or _mp3_frame(head):
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head:  # EBML with DocType webm
        return "audio/webm"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if _SVG_START.match(head):
        return SVG
    return None


class ImageRejected(ValueError):
    """An image that cannot be accepted: corrupt, truncated, or too many pixels."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int
    height: int
    thumbnail_png: bytes


def inspect_image(file: IO[bytes], content_type: str, *, max_pixels: int) -> ImageInfo:
    """Decode the whole image (truncation shows only then) and make a 200 px PNG thumbnail.

    Blocking: run it in a thread. Raises `ImageRejected` with a message for the client.
    """
    try:
        with Image.open(file, formats=[_PILLOW_FORMAT[content_type]]) as image:
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > max_pixels:
                raise ImageRejected(
                    f"the image is {width}x{height} pixels; at most {max_pixels} are accepted"
                )
            image.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))  # JPEG: decode smaller
            image.load()
            thumbnail = _thumbnail(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, which fires on opening when the header claims a vast canvas.
        raise ImageRejected(f"the image claims too many pixels: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, ImageRejected):
            raise
        raise ImageRejected(f"the image is corrupt or truncated: {exc}") from exc
    return ImageInfo(width, height, thumbnail)


def _thumbnail(image: Image.Image) -> bytes:
    image.seek(0)  # animations: the first frame
    frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
    frame.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))  # fit inside, keep the aspect ratio
    out = io.BytesIO()
    frame.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
