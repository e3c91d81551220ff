"""Cut one large Yjs v1 update into bounded updates that apply in order, each one completely.

Yrs applies an update in one call that holds the GIL: a 20 MB document with a fragmented
history takes hundreds of milliseconds, during which no other room of the process runs. Applied
piece by piece, with the event loop running between pieces, the longest stall is one piece.

The cut follows causality: every struct goes into a piece after the structs its origins and its
parent belong to (its own client's earlier structs included), so no piece leaves anything
pending in the receiving Doc; a merge over the clients' clock-ordered struct lists finds such an
order for any update a Doc encoded. The delete set comes last, in pieces of its own, once every
item it names exists. Structs are copied byte for byte, never re-encoded.

Pure: bytes in, bytes out; heavy enough in Python (about a microsecond per struct) that a
server runs it off its event loop, in another process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crdt.encoding import Reader, write_varuint
from crdt.errors import ProtocolError
from crdt.update_reader import skip_content

_BIT8, _BIT7 = 0x80, 0x40


@dataclass(slots=True)
class _ClientStructs:
    """One client's structs, in clock order, as byte ranges of the source update."""

    client: int
    first_clock: int
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    clocks: list[int] = field(default_factory=list)  # clock just past each struct
    deps: list[tuple[tuple[int, int], ...]] = field(default_factory=list)


@dataclass(slots=True)
class _Piece:
    """Structs gathered for one output update: per client, a first clock and byte ranges."""

    runs: dict[int, tuple[int, int, list[tuple[int, int]]]] = field(default_factory=dict)
    size: int = 0
    structs: int = 0

    def add(self, client: int, clock: int, start: int, end: int) -> None:
        run = self.runs.get(client)
        if run is None:
            self.runs[client] = (clock, 1, [(start, end)])
        else:
            first, count, ranges = run
            last_start, last_end = ranges[-1]
            if last_end == start:  # consecutive in the source: one copy
                ranges[-1] = (last_start, end)
            else:
                ranges.append((start, end))
            self.runs[client] = (first, count + 1, ranges)
        self.size += end - start
        self.structs += 1

    def encode(self, source: memoryview) -> bytes:
        out = bytearray()
        write_varuint(out, len(self.runs))
        for client, (first, count, ranges) in self.runs.items():
            write_varuint(out, count)
            write_varuint(out, client)
            write_varuint(out, first)
            for start, end in ranges:
                out += source[start:end]
        write_varuint(out, 0)  # no deletes: they come after every struct
        return bytes(out)


def split_update(
    update: bytes, max_bytes: int = 256 * 1024, max_structs: int = 20_000
) -> list[bytes]:
    """Pieces of at most about `max_bytes` / `max_structs` (one struct may be larger) that,
    applied in order to a Doc, give the same Doc as `update`. Small updates come back whole.

    Raises `ProtocolError` for a malformed update."""
    if len(update) <= max_bytes:
        return [update]
    reader = Reader(update)
    clients = _read_structs(reader)
    deletes = _read_delete_set(reader)
    if not reader.done():
        raise ProtocolError("trailing bytes after update")
    source = memoryview(update)
    pieces = [p.encode(source) for p in _causal_pieces(clients, max_bytes, max_structs)]
    pieces.extend(_delete_pieces(deletes, max_structs))
    return pieces


def _read_structs(reader: Reader) -> list[_ClientStructs]:
    result = []
    for _ in range(reader.varuint()):
        count = reader.varuint()
        if count > reader.remaining:
            raise ProtocolError("struct count past end of update")
        client = reader.varuint()
        clock = reader.varuint()
        structs = _ClientStructs(client, clock)
        starts, ends, clocks, deps = structs.starts, structs.ends, structs.clocks, structs.deps
        for _ in range(count):
            start = reader.pos
            info = reader.byte()
            ref = info & 0x1F
            needs: tuple[tuple[int, int], ...] = ()
            if ref == 0 or ref == 10:  # GC or Skip: a length, depends on nothing
                length = reader.varuint()
            else:
                has_left, has_right = info & _BIT8, info & _BIT7
                if has_left:
                    needs = ((reader.varuint(), reader.varuint()),)
                if has_right:
                    needs = (*needs, (reader.varuint(), reader.varuint()))
                if not (has_left or has_right):
                    if reader.varuint() == 1:
                        reader.skip_varbytes()  # a root's name
                    else:
                        needs = ((reader.varuint(), reader.varuint()),)  # parent item
                    if info & 0x20:
                        reader.skip_varbytes()  # parentSub
                length = skip_content(reader, ref)
            clock += length
            starts.append(start)
            ends.append(reader.pos)
            clocks.append(clock)
            deps.append(needs)
        result.append(structs)
    return result


def _read_delete_set(reader: Reader) -> list[tuple[int, list[tuple[int, int]]]]:
    result = []
    for _ in range(reader.varuint()):
        client = reader.varuint()
        count = reader.varuint()
        if count > reader.remaining:
            raise ProtocolError("delete range count past end of update")
        result.append((client, [(reader.varuint(), reader.varuint()) for _ in range(count)]))
    return result


def _causal_pieces(clients: list[_ClientStructs], max_bytes: int, max_structs: int) -> list[_Piece]:
    # `done[c]`: the clock up to which client c's structs are placed. A dependency on a clock
    # below a client's first clock in this update (or on a client absent from it) is already
    # in the receiving Doc, or the update never had it; Yrs would wait for it either way.
    done = {c.client: c.first_clock for c in clients}
    next_index = {c.client: 0 for c in clients}
    pieces = [_Piece()]
    pending = [c for c in clients if c.starts]
    while pending:
        progressed = False
        for structs in pending:
            client = structs.client
            i = next_index[client]
            count = len(structs.starts)
            while i < count and all(
                clock < done.get(dep_client, clock + 1) for dep_client, clock in structs.deps[i]
            ):
                piece = pieces[-1]
                if piece.structs and (piece.size >= max_bytes or piece.structs >= max_structs):
                    piece = _Piece()
                    pieces.append(piece)
                start_clock = done[client]
                piece.add(client, start_clock, structs.starts[i], structs.ends[i])
                done[client] = structs.clocks[i]
                i += 1
                progressed = True
            next_index[client] = i
        pending = [c for c in pending if next_index[c.client] < len(c.starts)]
        if pending and not progressed:
            # A dependency this update cannot satisfy: leave the rest to Yrs, whole, as the
            # original update would have.
            piece = _Piece()
            for structs in pending:
                for i in range(next_index[structs.client], len(structs.starts)):
                    piece.add(
                        structs.client, done[structs.client], structs.starts[i], structs.ends[i]
                    )
                    done[structs.client] = structs.clocks[i]
            pieces.append(piece)
            break
    return [p for p in pieces if p.structs]


def _delete_pieces(
    deletes: list[tuple[int, list[tuple[int, int]]]], max_ranges: int
) -> list[bytes]:
    pieces: list[bytes] = []
    batch: list[tuple[int, list[tuple[int, int]]]] = []
    size = 0

    def flush() -> None:
        out = bytearray()
        write_varuint(out, 0)  # no structs
        write_varuint(out, len(batch))
        for client, ranges in batch:
            write_varuint(out, client)
            write_varuint(out, len(ranges))
            for clock, length in ranges:
                write_varuint(out, clock)
                write_varuint(out, length)
        pieces.append(bytes(out))

    for client, ranges in deletes:
        for offset in range(0, len(ranges), max_ranges):
            chunk = ranges[offset : offset + max_ranges]
            if size and size + len(chunk) > max_ranges:
                flush()
                batch, size = [], 0
            batch.append((client, chunk))
            size += len(chunk)
    if batch:
        flush()
    return pieces
