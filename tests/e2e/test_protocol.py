"""The wire contract (DESIGN.md §4) as stock and raw clients meet it: refusals, keepalive, ack."""

from __future__ import annotations

import pytest

from crdt.schema import SCHEMAS, DocKind
from tests.e2e.harness import flow_key, run_script, server_doc, server_json
from tests.support.live_server import live_server

pytestmark = pytest.mark.e2e

DEV = {"STORYARN_ENV": "development"}


async def test_malformed_frames_close_the_sender_with_4400_only() -> None:
    key = flow_key()
    async with live_server(DEV) as server:
        result = await run_script("garbage.mjs", "--server", server.ws_base, "--room", key.name)

        refused = {name: close["code"] for name, close in result["raw"].items()}
        assert refused == dict.fromkeys(refused, 4400)
        assert set(refused) == {
            "garbage",
            "text",
            "unknownType",
            "clientAck",
            "unknownSyncType",
            "truncatedSync",
            "garbageUpdate",
            "trailingBytes",
            "empty",
        }

        # The stock client whose socket sent garbage: closed for good, never reconnecting.
        carol = result["carol"]
        assert [close["code"] for close in carol["closes"]] == [4400]
        assert [event["code"] for event in carol["terminal"]] == [4400]
        assert carol["statusesAfterClose"] == ["disconnected"]
        assert not carol["connected"]
        assert not carol["connecting"]
        assert not carol["hasSocket"]

        # Everyone else: untouched, and the document did not change.
        assert result["closes"] == {"a": [], "b": []}
        assert result["afterGarbage"] == {"a": result["before"], "b": result["before"]}
        assert result["final"] == {
            **result["before"],
            "meta": {**result["before"]["meta"], "after": True},
        }
        assert server_json(server, key) == result["final"]


async def test_a_root_outside_the_schema_closes_the_writer_and_is_never_applied() -> None:
    key = flow_key()
    async with live_server(DEV) as server:
        result = await run_script(
            "schema_violation.mjs", "--server", server.ws_base, "--room", key.name
        )

        for writer in ("evil", "sneaky"):
            assert [c["code"] for c in result[writer]["closes"]] == [4400]
            assert [c["code"] for c in result[writer]["terminal"]] == [4400]
        assert result["closes"] == {"a": [], "b": []}
        allowed = sorted(SCHEMAS[DocKind.FLOW].roots)  # what docJSON reads, nothing else
        assert result["roots"] == {"a": allowed, "b": allowed}
        expected = {**result["before"], "meta": {**result["before"]["meta"], "after": True}}
        assert result["final"] == expected
        assert "sneaky" not in result["final"]["nodes"]

        doc = server_doc(server, key)
        assert "evil" not in set(doc.keys())
        assert server_json(server, key) == expected


async def test_idle_connection_gets_keepalives_often_enough_for_the_stock_watchdog() -> None:
    key = flow_key()
    async with live_server({**DEV, "STORYARN_KEEPALIVE_SECONDS": "1"}) as server:
        result = await run_script(
            "keepalive.mjs", "--server", server.ws_base, "--room", key.name, "--observe-ms", "4500"
        )

        assert result["closes"] == []
        assert result["messages"] >= 3, result
        # The keepalive is due after 1 s of silence, checked every 1/3 s: at most ~1.34 s apart.
        assert max(result["gapsMs"]) < 1800, result
        assert result["maxSilenceMs"] < 1800, result
        assert result["lastReceivedAdvancedMs"] >= 2000, result


async def test_ack_extension_is_sent_only_to_clients_that_opted_in() -> None:
    key = flow_key()
    async with live_server(DEV) as server:
        result = await run_script("ack.mjs", "--server", server.ws_base, "--room", key.name)

        assert result["ackedAll"] == sorted(set(result["ackedAll"])), "seq only increases"
        stock = result["stockAcks"]
        assert len(stock) == 3
        assert stock == sorted(set(stock)), "acks carry strictly increasing sequence numbers"
        assert all(seq >= 1 for seq in stock)
        assert result["plainAcks"] == []
        assert result["closes"] == {"acked": [], "plain": []}

        raw = result["raw"]
        assert raw["seq"] > max(result["ackedAll"])
        assert raw["hex"] == bytes([100, raw["seq"]]).hex()  # varuint 100, varuint seq (< 128)
        assert 100 not in raw["typesBeforeAck"]
        room = server.services.rooms.get(key)
        assert room is not None
        assert room.committed_seq == raw["seq"]
        assert server_json(server, key)["meta"] == {
            "k0": 0,
            "k1": 1,
            "k2": 2,
            "plain": 1,
            "later": 1,
            "raw": 1,
        }
