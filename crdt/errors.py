"""The exceptions `crdt` raises. The server maps each to a websocket close code in one place."""

from __future__ import annotations


class CrdtError(Exception):
    """Base of everything `crdt` raises on bad input."""


class ProtocolError(CrdtError):
    """A frame or update that cannot be decoded: close 4400."""


class SchemaViolation(CrdtError):
    """A well-formed update that writes outside its document kind's schema: close 4400."""


class TooLarge(CrdtError):
    """A message or a document over its configured limit: close 4413."""
