"""lib0 variable-length encoding: the primitives of the y-websocket wire format and Yjs updates.

A `Reader` walks a bytes object; every read past the end or of an ill-formed value raises
`ProtocolError`, so callers catch one exception type for any garbage.
"""

from __future__ import annotations

import struct

from crdt.errors import ProtocolError

_MAX_VARUINT_BYTES = 10  # 64-bit values at most; more is garbage, not a bigger number.


def write_varuint(out: bytearray, value: int) -> None:
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)


def varuint(value: int) -> bytes:
    out = bytearray()
    write_varuint(out, value)
    return bytes(out)


def write_varbytes(out: bytearray, data: bytes) -> None:
    write_varuint(out, len(data))
    out += data


def write_varstring(out: bytearray, text: str) -> None:
    write_varbytes(out, text.encode())


class Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def done(self) -> bool:
        return self.pos >= len(self.data)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ProtocolError("unexpected end of message")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varuint(self) -> int:
        data, pos = self.data, self.pos
        if pos >= len(data):
            raise ProtocolError("truncated varuint")
        b = data[pos]
        pos += 1
        if b < 0x80:  # most values: lengths, small clocks, type tags
            self.pos = pos
            return b
        value = b & 0x7F
        shift = 7
        end = len(data)
        while True:
            if pos >= end:
                raise ProtocolError("truncated varuint")
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = pos
                return value
            shift += 7
            if shift >= 7 * _MAX_VARUINT_BYTES:
                raise ProtocolError("varuint too long")

    def varint(self) -> int:
        # lib0 signed varint: first byte carries 6 bits, a sign bit and a continuation bit.
        first = self.byte()
        value = first & 0x3F
        negative = bool(first & 0x40)
        shift = 6
        if first & 0x80:
            for _ in range(_MAX_VARUINT_BYTES):
                b = self.byte()
                value |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            else:
                raise ProtocolError("varint too long")
        return -value if negative else value

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("length past end of message")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("length past end of message")
        self.pos += n

    def varbytes(self) -> bytes:
        return self.take(self.varuint())

    def skip_varbytes(self) -> None:
        self.skip(self.varuint())

    def varstring(self) -> str:
        raw = self.varbytes()
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not UTF-8") from exc

    def float32(self) -> float:
        value: float = struct.unpack(">f", self.take(4))[0]
        return value

    def float64(self) -> float:
        value: float = struct.unpack(">d", self.take(8))[0]
        return value
