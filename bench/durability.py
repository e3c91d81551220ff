"""What durability costs: our server on SQLite, on Postgres and on the in-memory store.

    uv run python bench/durability.py            # full run (about 6 minutes on 2 cores)
    uv run python bench/durability.py --quick    # a smoke run (about 1.5 minutes)

The fan-out load of bench/fanout.py (bench/fanout.mjs: one writer per room, every other client
records send-to-receipt latency of every update) against `storyarn serve` three times per
scenario (1 room x 20 clients, 50 rooms x 4 clients), each start fresh:

- sqlite: the default store, a fresh SQLite file (WAL, synchronous=NORMAL);
- postgres: DATABASE_URL to a throwaway database on --postgres (the server, in development
  mode, migrates it itself; it is dropped afterwards);
- memory: STORYARN_STORE=memory, nothing durable: the baseline.

Every update is committed before anyone receives it (DESIGN.md §6), so a rate that passes is a
durable rate; after each durable run the bench also checks that the database numbered exactly as
many updates as the writers sent. Reports per store the sustained rate (every update to every
other client, p99 < 100 ms), p50/p99 per rate, server CPU per update, and the ratio
durable/non-durable (target: at least 50 % at 50 rooms). Writes bench/results/durability-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import fanout as fx

STORES = ("sqlite", "postgres", "memory")
KIND = {"sqlite": "ours-sqlite", "postgres": "ours-postgres", "memory": "ours-memory"}
# Finer than fanout.py's doublings so that the durable/non-durable ratio is not just 1 or 1/2.
FULL_RATES = (400, 800, 1600, 2400, 3200, 4800, 6400, 9600, 12800)
QUICK_RATES = (800, 3200, 6400)
TARGET_RATIO = 0.5


def sent_in_total(rates: list[dict[str, Any]], warmup: float) -> int:
    """Every update the writers sent: warm-up (not reported by the generator) and measured."""
    return sum(
        r.get("attempts", 1) * (round(r["rate"] * warmup) + r["sent"])
        for r in rates
        if not r.get("skipped")
    )


def stored_in_sqlite(data_dir: Path) -> tuple[int, int]:
    path = data_dir / "storyarn.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        total, docs = conn.execute(
            "SELECT COALESCE(SUM(last_seq), 0), COUNT(*) FROM documents"
        ).fetchone()
    return int(total), int(docs)


def stored_in_postgres(url: str) -> tuple[int, int]:
    ((total, docs),) = fx.postgres_query(
        url, "SELECT COALESCE(SUM(last_seq), 0)::bigint, COUNT(*) FROM documents"
    )
    return int(total), int(docs)


def run_store(
    store: str, scenario: fx.Scenario, opts: argparse.Namespace, logs: Path, tag: str
) -> dict[str, Any]:
    kind = KIND[store]

    def check(server: fx.ServerProcess, url: str | None) -> dict[str, Any]:
        time.sleep(0.5)  # every update was broadcast after its commit; this is only a margin
        try:
            total, docs = stored_in_postgres(url) if url else stored_in_sqlite(server.data_dir)
        except Exception as exc:  # report, do not lose the run
            return {"stored_error": repr(exc)}
        return {"stored_updates": total, "stored_documents": docs}

    if store == "postgres":
        with fx.throwaway_postgres(opts.postgres) as url:
            result = fx.run_fanout(
                kind,
                scenario,
                opts,
                logs,
                tag,
                extra_env={"DATABASE_URL": url},
                after=lambda server: check(server, url),
            )
    elif store == "sqlite":
        result = fx.run_fanout(
            kind, scenario, opts, logs, tag, after=lambda server: check(server, None)
        )
    else:
        result = fx.run_fanout(kind, scenario, opts, logs, tag)
    result["store"] = store
    result["sent_total"] = sent_in_total(result["rates"], opts.warmup)
    if "stored_updates" in result:
        result["all_stored"] = result["stored_updates"] == result["sent_total"]
    return result


def common_rate(rows: list[dict[str, Any]]) -> int | None:
    """The highest rate every store passed in this scenario: where CPU per update compares."""
    passed = [{r["rate"] for r in row["rates"] if r.get("ok")} for row in rows]
    both = set.intersection(*passed) if passed else set()
    return max(both) if both else None


def summarise(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    summary = []
    for scenario in dict.fromkeys(r["scenario"] for r in results):
        for round_no in sorted({r["round"] for r in results if r["scenario"] == scenario}):
            rows = [r for r in results if r["scenario"] == scenario and r["round"] == round_no]
            memory = next((r for r in rows if r["store"] == "memory"), None)
            at = common_rate(rows)
            for row in rows:
                best = next((r for r in row["rates"] if r["rate"] == row["sustained_rate"]), None)
                same = next((r for r in row["rates"] if r["rate"] == at), None)
                entry = {
                    "scenario": scenario,
                    "round": round_no,
                    "store": row["store"],
                    "sustained_rate": row["sustained_rate"],
                    "p50_ms_at_sustained": None if best is None else best["p50_ms"],
                    "p99_ms_at_sustained": None if best is None else best["p99_ms"],
                    "common_rate": at,
                    "us_per_update_at_common": None
                    if same is None
                    else same.get("server_us_per_update"),
                    "p50_ms_at_common": None if same is None else same["p50_ms"],
                    "p99_ms_at_common": None if same is None else same["p99_ms"],
                    "memory_passed_top_rate": bool(
                        memory and memory["rates"] and memory["rates"][-1].get("ok")
                    ),
                    "sent_total": row["sent_total"],
                    "stored_updates": row.get("stored_updates"),
                    "all_stored": row.get("all_stored"),
                }
                if memory is not None and memory["sustained_rate"]:
                    entry["ratio_vs_memory"] = round(
                        row["sustained_rate"] / memory["sustained_rate"], 3
                    )
                summary.append(entry)
    return summary


def print_summary(results: list[dict[str, Any]], summary: list[dict[str, Any]]) -> None:
    print("\n== Sustained durable rate (every update to every other client, p99 < 100 ms) ==")
    print(
        f"  {'scenario':<8} {'rd':>2} {'store':<9} {'sustained':>10} {'p50/p99 there':>16} "
        f"{'vs memory':>10} {'CPU us/update @ common rate':>28} {'stored/sent':>22}"
    )
    for s in summary:
        ratio = s.get("ratio_vs_memory")
        ratio_text = "-" if ratio is None else f"{100 * ratio:.0f} %"
        if s["memory_passed_top_rate"] and ratio is not None:
            ratio_text += "*"
        lat = (
            "-"
            if s["p50_ms_at_sustained"] is None
            else f"{s['p50_ms_at_sustained']:.1f} / {s['p99_ms_at_sustained']:.1f}"
        )
        cpu = (
            "-"
            if s["us_per_update_at_common"] is None
            else f"{s['us_per_update_at_common']:.0f} @ {s['common_rate']}/s"
        )
        stored = (
            "-"
            if s["stored_updates"] is None
            else f"{s['stored_updates']}/{s['sent_total']} {'ok' if s['all_stored'] else 'LOST'}"
        )
        print(
            f"  {s['scenario']:<8} {s['round']:>2} {s['store']:<9} "
            f"{s['sustained_rate']:>8,}/s {lat:>16} {ratio_text:>10} {cpu:>28} {stored:>22}"
        )
    print("  (* the memory store passed the top rate: its true rate, so the ratio, is a bound)")
    for scenario in dict.fromkeys(r["scenario"] for r in results):
        for round_no in sorted({r["round"] for r in results if r["scenario"] == scenario}):
            rows = [r for r in results if r["scenario"] == scenario and r["round"] == round_no]
            print(f"\n== {scenario} round {round_no}: delivered, p50 / p99 ms per rate ==")
            print(f"  {'rate/s':>7}" + "".join(f"  {r['store']:<28}" for r in rows))
            rates = sorted({x["rate"] for r in rows for x in r["rates"]})
            for rate in rates:
                line = f"  {rate:>7}"
                for r in rows:
                    x = next((x for x in r["rates"] if x["rate"] == rate), None)
                    line += f"  {fx.cell(x):<28}"
                print(line)
    verdicts = [s for s in summary if s["store"] != "memory" and s["scenario"].startswith("50x")]
    if verdicts:
        print(f"\n== Target: durable >= {TARGET_RATIO:.0%} of non-durable at 50 rooms ==")
        for s in verdicts:
            ratio = s.get("ratio_vs_memory")
            mark = "-" if ratio is None else ("met" if ratio >= TARGET_RATIO else "NOT met")
            print(
                f"  {s['scenario']} round {s['round']} {s['store']}: "
                f"{'-' if ratio is None else f'{100 * ratio:.0f} %'} -> {mark}"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--stores", default=",".join(STORES), help="sqlite,postgres,memory")
    parser.add_argument("--scenarios", default="1x20,50x4", help="ROOMSxCLIENTS,...")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rates", default=None, help="total updates/s, rising")
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--drain", type=float, default=None)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL: each Postgres run creates its own database beside it and drops it",
    )
    fx.add_checkout_options(parser)
    fx.add_quiet_options(parser)
    opts = parser.parse_args(argv)
    if opts.rates is None:
        opts.rates = ",".join(map(str, QUICK_RATES if opts.quick else FULL_RATES))
    if opts.warmup is None:
        opts.warmup = 0.5 if opts.quick else 1.0
    if opts.duration is None:
        opts.duration = 2.0 if opts.quick else 5.0
    if opts.drain is None:
        opts.drain = 1.0 if opts.quick else 3.0
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    with fx.ours_checkout(opts) as root:
        opts.ours_root = root
        return run_all(opts)


def run_all(opts: argparse.Namespace) -> int:
    fx.ensure_node_modules()
    fx.RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = fx.RESULTS / "logs" / f"durability-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    stores = [s for s in opts.stores.split(",") if s]
    scenarios = [fx.Scenario.parse(s) for s in opts.scenarios.split(",") if s]
    started = time.monotonic()
    print(
        f"durability benchmark: stores {stores}, scenarios {[s.label for s in scenarios]}, "
        f"rates {opts.rates}, {opts.duration} s each after {opts.warmup} s warm-up; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for round_no in range(opts.rounds):
        for scenario in scenarios:
            order = stores[round_no % len(stores) :] + stores[: round_no % len(stores)]
            for store in order:
                result = run_store(store, scenario, opts, logs, f"r{round_no}-{scenario.label}")
                result["round"] = round_no
                results.append(result)
                print(
                    f"  -> {store} {scenario.label}: sustained {result['sustained_rate']:,}/s "
                    f"(CPU pressure at start {result['cpu_pressure_avg10_at_start']}%)"
                    + (
                        f"; stored {result['stored_updates']}/{result['sent_total']}"
                        if "stored_updates" in result
                        else ""
                    ),
                    flush=True,
                )
    summary = summarise(results)
    print_summary(results, summary)
    out = fx.RESULTS / f"durability-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "started": stamp,
                "elapsed_s": round(time.monotonic() - started, 1),
                "machine": {"cpus": os.cpu_count(), "loadavg_end": os.getloadavg()},
                "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(opts).items()},
                "ours_revision": fx.ours_revision(opts),
                "results": results,
                "summary": summary,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out.relative_to(fx.ROOT)} in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
