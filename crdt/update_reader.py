"""A structural reader of Yjs v1 updates: which roots an update writes to, and how.

pycrdt applies updates irrevocably and does not say which root an item belongs to, so we read
the update ourselves before applying it. Only items with neither a left nor a right origin carry
their parent explicitly; every other item inherits its neighbour's parent, so the explicit
parents are exactly the roots (and nested types) an update can introduce. Reading the whole
update also proves it is well-formed down to the last byte.

Format: yjs `src/utils/encoding.js` (UpdateDecoderV1) and lib0 `decoding.readAny`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crdt.encoding import Reader
from crdt.errors import ProtocolError

_BIT8, _BIT7, _BIT6 = 0x80, 0x40, 0x20
_MAX_ANY_DEPTH = 64

# ContentType type refs (yjs YArrayRefID ... YXmlTextRefID)
TYPE_ARRAY, TYPE_MAP, TYPE_TEXT, TYPE_XML_ELEMENT, TYPE_XML_FRAGMENT, TYPE_XML_HOOK = range(6)
TYPE_XML_TEXT = 6


@dataclass(slots=True)
class RootUse:
    """How an update writes directly under one root."""

    keyed: bool = False  # some item has a parentSub (the root is used as a Y.Map)
    sequential: bool = False  # some item has no parentSub (Y.Array / Y.Text / Y.XmlFragment)


@dataclass(slots=True)
class UpdateSummary:
    roots: dict[str, RootUse] = field(default_factory=dict)
    structs: int = 0
    deletes: int = 0

    @property
    def is_empty(self) -> bool:
        return self.structs == 0 and self.deletes == 0


def read_update(update: bytes) -> UpdateSummary:
    """Read a v1 update fully; raise `ProtocolError` if any byte of it is not well-formed."""
    reader = Reader(update)
    summary = UpdateSummary()
    roots = summary.roots
    clients = reader.varuint()
    if clients > reader.remaining:
        raise ProtocolError("client count past end of update")
    for _ in range(clients):
        structs = reader.varuint()
        if structs > reader.remaining:
            raise ProtocolError("struct count past end of update")
        reader.varuint()  # client
        reader.varuint()  # first clock
        summary.structs += structs
        for _ in range(structs):
            info = reader.byte()
            ref = info & 0x1F
            if ref == 0 or ref == 10:  # GC or Skip: a length
                reader.varuint()
                continue
            has_left, has_right = info & _BIT8, info & _BIT7
            if has_left:
                reader.varuint()
                reader.varuint()
            if has_right:
                reader.varuint()
                reader.varuint()
            if not (has_left or has_right):
                parent_is_root = reader.varuint() == 1
                root_name = None
                if parent_is_root:
                    root_name = reader.varstring()
                else:
                    reader.varuint()
                    reader.varuint()
                keyed = bool(info & _BIT6)
                if keyed:
                    reader.skip_varbytes()  # parentSub
                if root_name is not None:
                    use = roots.get(root_name)
                    if use is None:
                        use = roots[root_name] = RootUse()
                    if keyed:
                        use.keyed = True
                    else:
                        use.sequential = True
            skip_content(reader, ref)
    delete_clients = reader.varuint()
    if delete_clients > reader.remaining:
        raise ProtocolError("delete-set count past end of update")
    for _ in range(delete_clients):
        reader.varuint()
        ranges = reader.varuint()
        if ranges > reader.remaining:
            raise ProtocolError("delete range count past end of update")
        for _ in range(ranges):
            reader.varuint()
            reader.varuint()
        summary.deletes += ranges
    if not reader.done():
        raise ProtocolError("trailing bytes after update")
    return summary


def skip_content(reader: Reader, ref: int) -> int:
    """Read past one item's content; return its length in clock ticks."""
    if ref == 1:  # ContentDeleted
        return reader.varuint()
    if ref == 2:  # ContentJSON
        count = _count(reader)
        for _ in range(count):
            reader.skip_varbytes()
        return count
    if ref == 3:  # ContentBinary
        reader.skip_varbytes()
    elif ref == 4:  # ContentString: Yjs counts UTF-16 code units
        text = reader.varstring()
        return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2
    elif ref == 5:  # ContentEmbed
        reader.skip_varbytes()
    elif ref == 6:  # ContentFormat
        reader.skip_varbytes()
        reader.skip_varbytes()
    elif ref == 7:  # ContentType
        type_ref = reader.varuint()
        if type_ref in (TYPE_XML_ELEMENT, TYPE_XML_HOOK):
            reader.skip_varbytes()
        elif type_ref > TYPE_XML_TEXT:
            raise ProtocolError(f"unknown type ref {type_ref}")
    elif ref == 8:  # ContentAny
        count = _count(reader)
        for _ in range(count):
            _skip_any(reader, 0)
        return count
    elif ref == 9:  # ContentDoc
        reader.skip_varbytes()
        _skip_any(reader, 0)
    else:
        raise ProtocolError(f"unknown content ref {ref}")
    return 1


def _count(reader: Reader) -> int:
    n = reader.varuint()
    if n > reader.remaining:
        raise ProtocolError("element count past end of update")
    return n


def _skip_any(reader: Reader, depth: int) -> None:
    if depth > _MAX_ANY_DEPTH:
        raise ProtocolError("value nested too deeply")
    tag = reader.byte()
    if tag in (127, 126, 121, 120):  # undefined, null, false, true
        return
    if tag == 125:
        reader.varint()
    elif tag == 124:
        reader.skip(4)
    elif tag in (123, 122):
        reader.skip(8)
    elif tag in (119, 116):  # string, Uint8Array
        reader.skip_varbytes()
    elif tag == 118:  # object
        for _ in range(_count(reader)):
            reader.skip_varbytes()
            _skip_any(reader, depth + 1)
    elif tag == 117:  # array
        for _ in range(_count(reader)):
            _skip_any(reader, depth + 1)
    else:
        raise ProtocolError(f"unknown value tag {tag}")
