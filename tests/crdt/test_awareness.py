import json

import pytest

from crdt.awareness import (
    AwarenessEntry,
    AwarenessRegistry,
    encode_update,
    parse_update,
)
from crdt.errors import ProtocolError


def _entry(client: int, clock: int, state: object) -> AwarenessEntry:
    return AwarenessEntry(client, clock, json.dumps(state))


def test_awareness_update_round_trips() -> None:
    entries = [_entry(1, 0, {"user": "ann"}), _entry(2**40, 7, None)]
    assert parse_update(encode_update(entries)) == entries


@pytest.mark.parametrize(
    "update",
    [b"", b"\x01", b"\x01\x01\x00\x03{x}", b"\x01\x01\x00\x02\xff\xfe", b"\x00\x00", b"\x7f"],
)
def test_awareness_parse_refuses_garbage(update: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_update(update)


def test_awareness_registry_snapshot_lists_current_states() -> None:
    registry = AwarenessRegistry()
    assert registry.snapshot() is None
    registry.apply(16, [_entry(1, 0, {"n": "a"})])
    registry.apply(17, [_entry(2, 3, {"n": "b"})])
    assert {e.client_id for e in parse_update(registry.snapshot() or b"")} == {1, 2}


def test_awareness_registry_ignores_stale_clocks() -> None:
    registry = AwarenessRegistry()
    registry.apply(16, [_entry(1, 5, {"v": 2})])
    assert registry.apply(16, [_entry(1, 4, {"v": 1})]) == []
    assert parse_update(registry.snapshot() or b"")[0].state == '{"v": 2}'


def test_awareness_registry_removal_of_a_connection_nulls_its_clients() -> None:
    registry = AwarenessRegistry()
    registry.apply(16, [_entry(1, 5, {}), _entry(3, 1, {})])
    registry.apply(17, [_entry(2, 0, {})])
    removal = parse_update(registry.remove_connection(16) or b"")
    assert {(e.client_id, e.clock, e.state) for e in removal} == {(1, 6, "null"), (3, 2, "null")}
    assert len(registry) == 1
    assert registry.remove_connection(16) is None


def test_awareness_registry_null_state_forgets_the_client() -> None:
    registry = AwarenessRegistry()
    registry.apply(16, [_entry(1, 0, {})])
    assert registry.apply(16, [_entry(1, 1, None)]) != []
    assert registry.snapshot() is None
    assert registry.remove_connection(16) is None
