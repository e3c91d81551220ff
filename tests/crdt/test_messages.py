import pytest

from crdt import messages
from crdt.encoding import Reader, varuint
from crdt.errors import ProtocolError


def test_messages_round_trip_each_sync_type() -> None:
    assert messages.decode(messages.encode_sync_step1(b"\x00")) == messages.SyncStep1(b"\x00")
    assert messages.decode(messages.encode_sync_step2(b"\x00\x00")) == messages.SyncStep2(
        b"\x00\x00"
    )
    assert messages.decode(messages.encode_sync_update(b"\x01\x02")) == messages.SyncUpdate(
        b"\x01\x02"
    )


def test_messages_awareness_and_query_awareness_decode() -> None:
    assert messages.decode(messages.encode_awareness(b"\x00")) == messages.Awareness(b"\x00")
    assert messages.decode(b"\x03") == messages.QueryAwareness()


def test_messages_long_payload_uses_multibyte_length() -> None:
    payload = bytes(300)
    frame = messages.encode_sync_update(payload)
    assert frame[:4] == b"\x00\x02\xac\x02"
    assert messages.decode(frame) == messages.SyncUpdate(payload)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x05",
        b"\x64\x01",  # type 100 is server-to-client only
        b"\x00",
        b"\x00\x07\x00",  # unknown sync sub-type
        b"\x00\x02\x05ab",  # length past the end
        b"\x00\x02\x01ab",  # trailing bytes
        b"\x01",
        b"\x80",  # truncated varuint
        b"\xff" * 11,  # varuint longer than 64 bits
    ],
)
def test_messages_decode_refuses_malformed_frames(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        messages.decode(frame)


def test_messages_ack_carries_sequence_number() -> None:
    frame = messages.encode_ack(1000)
    reader = Reader(frame)
    assert reader.varuint() == messages.MessageType.ACK
    assert reader.varuint() == 1000
    assert reader.done()


def test_messages_keepalive_is_an_empty_awareness_update() -> None:
    assert messages.decode(messages.KEEPALIVE) == messages.Awareness(varuint(0))


def test_encoding_varint_reads_lib0_signed_integers() -> None:
    # lib0 writeVarInt(-5) = 0x45; writeVarInt(100) = 0x80|36, 1
    assert Reader(b"\x45").varint() == -5
    assert Reader(b"\xa4\x01").varint() == 100
