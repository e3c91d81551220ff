"""Scale-out: the fan-out load against `storyarn serve --workers N` on one port (Postgres + Redis).

    uv run python bench/scaleout.py            # N = 1, 2, 4; 1x20 and 50x4 (about 6.5 minutes)
    uv run python bench/scaleout.py --quick    # a smoke run, 50x4 only (about 1.5 minutes)

For each N, a fresh throwaway Postgres database (migrated first with `storyarn db upgrade`, the
release step) and a fresh Redis prefix. The N workers bind the one port with SO_REUSEPORT (the
supervisor of `serve --workers`; uvicorn's shared socket in older commits), so the kernel spreads
the connections over them and the clients of one room land on different processes: an update
reaches the readers on its writer's process directly and the others through Redis. N = 1 runs
with the same Postgres and Redis, so the ratios compare like with like.

bench/fanout.mjs drives it (one writer per room, small Y.Map updates at rising total rates, every
other client records send-to-receipt latency). Given the worker pids, it finds which process holds
each client's socket (/proc/<pid>/fd and /proc/net/tcp) and reports the cross-instance deliveries
(reader and writer on different processes) separately. The spread is also read from the cluster
view, GET /api/v1/ops/rooms (development mode: any Bearer token is an operator).

Reports per N: sustained rate (every update to every other client, p99 < 100 ms), p99 there, the
scaling ratio vs N = 1, and the cross-instance p50/p99 at N = 1's sustained rate (target: p99
under 50 ms). On a 2-core machine shared with the load generator, N processes cannot scale
linearly; the generator's own CPU is printed so that its saturation shows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fanout as fx
import redis

FULL_RATES = (400, 800, 1600, 2400, 3200, 4800, 6400, 9600)
QUICK_RATES = (800, 3200, 6400)
CROSS_P99_TARGET_MS = 50.0


# -- infrastructure ----------------------------------------------------------------------------


@contextlib.contextmanager
def redis_prefix(url: str) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted afterwards."""
    prefix = f"storyarn_bench_{secrets.token_hex(5)}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(url, socket_timeout=10)
        try:
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
        finally:
            client.close()


def migrate(root: Path, env: dict[str, str], logs: Path) -> None:
    with (logs / "migrate.log").open("ab") as log:
        subprocess.run(
            [sys.executable, "-m", "server.cli", "db", "upgrade"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=120,
        )


def ops_view(port: int) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/ops/rooms", headers={"Authorization": "Bearer ops"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        body: dict[str, Any] = json.loads(response.read())
    return body


def worker_pids(parent: int, workers: int) -> list[int]:
    """The processes serving connections: the parent itself for 1, else its worker children
    (`serve --reuse-port` processes under the supervisor; `spawn_main` for uvicorn's own)."""
    if workers == 1:
        return [parent]
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            if ppid == parent and (b"--reuse-port" in cmdline or b"spawn_main" in cmdline):
                pids.append(int(entry.name))
    return sorted(pids)


def wait_ready(server: fx.ServerProcess, workers: int, timeout: float = 60) -> list[int]:
    """Wait until N worker processes exist and N instances heartbeat in the cluster view."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {server.proc.returncode}; see {server.log_path}"
            )
        pids = worker_pids(server.pid, workers)
        try:
            view = ops_view(server.port)
            last = view
        except OSError:
            view = None
        if view is not None and len(pids) == workers and len(view["instances"]) == workers:
            return pids
        time.sleep(0.5)
    pids = worker_pids(server.pid, workers)
    raise RuntimeError(f"{workers} workers not ready in {timeout} s (pids {pids}, view {last})")


def cpu_seconds_of(names: tuple[str, ...]) -> float:
    """CPU time of every process whose name starts with one of `names` (redis, postgres)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            stat = (entry / "stat").read_text()
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            if comm.startswith(names):
                fields = stat[stat.rindex(")") + 2 :].split()
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy, all cores (/proc/stat: everything but idle)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


class InfraMeter:
    """Redis and Postgres CPU, and Redis command rates, between two marks (one per rate: the
    warm-up, measured period and drain). Machine-wide: other users of both count too."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=5)
        self._last: tuple[float, float, float, dict[str, int], float] | None = None

    def _sample(self) -> tuple[float, float, float, dict[str, int], float]:
        calls: dict[str, int] = {}
        with contextlib.suppress(redis.RedisError, OSError):
            for name, stats in self._redis.info("commandstats").items():
                calls[name.removeprefix("cmdstat_")] = int(stats["calls"])
        return (
            time.monotonic(),
            cpu_seconds_of(("redis-server",)),
            cpu_seconds_of(("postgres",)),
            calls,
            machine_busy_seconds(),
        )

    def mark(self) -> dict[str, Any]:
        now = self._sample()
        last, self._last = self._last, now
        if last is None:
            return {}
        seconds = now[0] - last[0]
        rates = {
            name: round((count - last[3].get(name, 0)) / seconds)
            for name, count in now[3].items()
            if name in ("xread", "xadd", "xtrim", "publish")
        }
        return {
            "seconds": round(seconds, 1),
            "redis_cpu_pct": round(100 * (now[1] - last[1]) / seconds, 1),
            # Backends that exit take their CPU time with them: a negative delta is unknown.
            "postgres_cpu_pct": round(100 * (now[2] - last[2]) / seconds, 1)
            if now[2] >= last[2]
            else None,
            "machine_busy_pct": round(100 * (now[4] - last[4]) / seconds, 1),
            "redis_calls_per_s": rates,
        }


# -- one run -----------------------------------------------------------------------------------


def run_workers(
    workers: int, scenario: fx.Scenario, opts: argparse.Namespace, logs: Path
) -> dict[str, Any]:
    rates = [int(r) for r in opts.rates.split(",")]
    per_rate = opts.warmup + opts.duration + opts.drain + 1
    budget = 60 + per_rate * len(rates) * 1.5
    tag = f"{scenario.label}-n{workers}"
    quiet = fx.wait_for_quiet(opts)
    load1 = os.getloadavg()[0]
    results: list[dict[str, Any]] = []
    error = None
    spread: dict[str, Any] = {}
    views: list[dict[str, Any]] = []
    with fx.throwaway_postgres(opts.postgres) as url, redis_prefix(opts.redis) as prefix:
        extra = {
            "DATABASE_URL": url,
            "REDIS_URL": opts.redis,
            "STORYARN_REDIS_PREFIX": prefix,
            "STORYARN_DATABASE_POOL_SIZE": str(opts.pool_size),
            **fx.ours_env(opts),
        }
        env = dict(os.environ)
        env.update(fx.OURS_ENV)
        env.update(extra)
        migrate(opts.ours_root, env, logs)
        with fx.running(
            "ours-postgres",
            logs,
            tag,
            opts.ours_root,
            extra,
            cmd_suffix=("--workers", str(workers)),
        ) as server:
            pids = wait_ready(server, workers)
            proc = fx.loadgen(
                fx.flags(
                    mode="fanout",
                    kind="ours",
                    port=server.port,
                    rooms=scenario.rooms,
                    clients=scenario.clients,
                    rates=",".join(map(str, rates)),
                    warmup=opts.warmup,
                    duration=opts.duration,
                    drain=opts.drain,
                    server_pids=",".join(map(str, pids)),
                    retries=opts.retries,
                ),
                budget,
            )
            infra = InfraMeter(opts.redis)
            try:
                for event in fx.read_events(proc):
                    if event["event"] == "connected":
                        spread = {k: v for k, v in event.items() if k != "event"}
                        infra.mark()
                    elif event["event"] == "rate":
                        if not views:
                            # After a rate, every worker has heartbeated its connections.
                            with contextlib.suppress(OSError):
                                views.append(ops_view(server.port))
                        event["infra"] = infra.mark()
                        results.append(event)
                        print_rate_line(workers, scenario, event)
                    elif event["event"] == "error":
                        error = event["error"]
                proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if proc.returncode != 0 and error is None:
                error = f"load generator exited with {proc.returncode}"
            stored = None
            with contextlib.suppress(Exception):
                ((stored,),) = fx.postgres_query(
                    url, "SELECT COALESCE(SUM(last_seq), 0)::bigint FROM documents"
                )
    if error:
        print(f"    ! n={workers} {scenario.label}: {error}", flush=True)
    sent = sum(
        r.get("attempts", 1) * (round(r["rate"] * opts.warmup) + r["sent"])
        for r in results
        if not r.get("skipped")
    )
    view = views[-1] if views else {}
    return {
        "workers": workers,
        "scenario": scenario.label,
        "loadavg_before": round(load1, 2),
        **quiet,
        "pids": pids,
        "spread": spread,
        "ops_instances": view.get("instances"),
        "ops_rooms_on_several_instances": sum(
            1 for room in view.get("rooms", []) if len(room["instances"]) > 1
        ),
        "rates": results,
        "sustained_rate": fx.sustained(results),
        "sent_total": sent,
        "stored_updates": None if stored is None else int(stored),
        "error": error,
    }


def print_rate_line(workers: int, scenario: fx.Scenario, r: dict[str, Any]) -> None:
    infra = r.get("infra") or {}
    if r.get("skipped"):
        print(f"    n={workers} {scenario.label:<6} {r['rate']:>6}/s  skipped", flush=True)
        return
    print(
        f"    n={workers} {scenario.label:<6} {r['rate']:>6}/s  "
        f"{r['delivered']:>7}/{r['expected']:<7} p50 {fx.fmt_ms(r['p50_ms'])} "
        f"p99 {fx.fmt_ms(r['p99_ms'])} | cross p50 {fx.fmt_ms(r.get('cross_p50_ms'))} "
        f"p99 {fx.fmt_ms(r.get('cross_p99_ms'))} ({r.get('cross_delivered', 0)}) | "
        f"same p50 {fx.fmt_ms(r.get('same_p50_ms'))}  {'ok ' if r['ok'] else 'FAIL'} "
        f"srv {fx.fmt(r['server_cpu_pct'])}% ({fx.fmt(r.get('server_us_per_update'))} us/upd) "
        f"gen {fx.fmt(r['loadgen_cpu_pct'])}% redis {fx.fmt(infra.get('redis_cpu_pct'))}% "
        f"pg {fx.fmt(infra.get('postgres_cpu_pct'))}% "
        f"machine {fx.fmt(infra.get('machine_busy_pct'))}% "
        f"xread {infra.get('redis_calls_per_s', {}).get('xread', '-')}/s "
        f"reconn {r['reconnects']}"
        + (
            f"  (attempt {r['attempts']}; before: p99 {r['earlier_attempts'][0]['p99_ms']})"
            if r.get("attempts", 1) > 1
            else ""
        ),
        flush=True,
    )


# -- summary -----------------------------------------------------------------------------------


def summarise(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    summary = []
    for scenario in dict.fromkeys(r["scenario"] for r in results):
        rows = [r for r in results if r["scenario"] == scenario]
        single = next((r for r in rows if r["workers"] == 1), None)
        base = None if single is None else single["sustained_rate"]
        for row in rows:
            best = next((x for x in row["rates"] if x["rate"] == row["sustained_rate"]), None)
            at_base = next(
                (x for x in row["rates"] if x["rate"] == base and not x.get("skipped")), None
            )
            low = next((x for x in row["rates"] if not x.get("skipped")), None)
            lowest = None if low is None else low["rate"]
            summary.append(
                {
                    "scenario": scenario,
                    "workers": row["workers"],
                    "sustained_rate": row["sustained_rate"],
                    "p99_ms_at_sustained": None if best is None else best["p99_ms"],
                    "server_cpu_pct_at_sustained": None if best is None else best["server_cpu_pct"],
                    "loadgen_cpu_pct_at_sustained": None
                    if best is None
                    else best["loadgen_cpu_pct"],
                    "scaling_vs_1": None if not base else round(row["sustained_rate"] / base, 2),
                    "single_process_rate": base,
                    "ok_at_single_rate": None if at_base is None else at_base["ok"],
                    "p99_ms_at_single_rate": None if at_base is None else at_base["p99_ms"],
                    "cross_p50_ms_at_single_rate": None
                    if at_base is None
                    else at_base.get("cross_p50_ms"),
                    "cross_p99_ms_at_single_rate": None
                    if at_base is None
                    else at_base.get("cross_p99_ms"),
                    "cross_deliveries_at_single_rate": None
                    if at_base is None
                    else at_base.get("cross_delivered"),
                    "same_p50_ms_at_single_rate": None
                    if at_base is None
                    else at_base.get("same_p50_ms"),
                    "same_p99_ms_at_single_rate": None
                    if at_base is None
                    else at_base.get("same_p99_ms"),
                    "server_us_per_update_at_single_rate": None
                    if at_base is None
                    else at_base.get("server_us_per_update"),
                    "lowest_rate": lowest,
                    "at_lowest": None
                    if low is None
                    else {
                        k: low.get(k)
                        for k in (
                            "ok",
                            "p50_ms",
                            "p99_ms",
                            "cross_p50_ms",
                            "cross_p99_ms",
                            "same_p50_ms",
                            "same_p99_ms",
                            "server_us_per_update",
                        )
                    },
                    "clients_per_process": row["spread"].get("clients_per_process"),
                    "rooms_spanning_processes": row["spread"].get("rooms_spanning_processes"),
                    "ops_connections": None
                    if not row["ops_instances"]
                    else [v["connections"] for v in row["ops_instances"].values()],
                    "all_stored": row["stored_updates"] == row["sent_total"],
                    "stored_updates": row["stored_updates"],
                    "sent_total": row["sent_total"],
                }
            )
    return summary


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_summary(results: list[dict[str, Any]], summary: list[dict[str, Any]]) -> None:
    print("\n== Scale-out: storyarn serve --workers N (Postgres + Redis), one port ==")
    print(
        f"  {'scen.':<6} {'N':>2} {'sustained':>10} {'p99 there':>9} {'vs N=1':>7} "
        f"{'srv CPU%':>8} {'gen CPU%':>8} | {'clients per process':<22} {'ops view':<20} "
        f"{'stored':<6}"
    )
    for s in summary:
        scaling = "-" if s["scaling_vs_1"] is None else f"{s['scaling_vs_1']:.2f}x"
        print(
            f"  {s['scenario']:<6} {s['workers']:>2} {s['sustained_rate']:>8,}/s "
            f"{ms(s['p99_ms_at_sustained']):>9} {scaling:>7} "
            f"{fx.fmt(s['server_cpu_pct_at_sustained']):>8} "
            f"{fx.fmt(s['loadgen_cpu_pct_at_sustained']):>8} | "
            f"{s['clients_per_process']!s:<22} {s['ops_connections']!s:<20} "
            f"{'ok' if s['all_stored'] else 'LOST'}"
        )
    print("\n== Latency by path (ms): at N=1's sustained rate, and at the lowest rate ==")
    print(
        f"  {'scen.':<6} {'N':>2} {'rate':>6} {'p99 all':>8} {'cross p50':>10} {'cross p99':>10} "
        f"{'same p50':>9} {'same p99':>9} {'srv us/update':>14} | {'rate':>6} "
        f"{'cross p50':>10} {'cross p99':>10} {'same p50':>9} {'same p99':>9}"
    )
    for s in summary:
        low = s["at_lowest"] or {}
        print(
            f"  {s['scenario']:<6} {s['workers']:>2} {s['single_process_rate']!s:>6} "
            f"{ms(s['p99_ms_at_single_rate']):>8} {ms(s['cross_p50_ms_at_single_rate']):>10} "
            f"{ms(s['cross_p99_ms_at_single_rate']):>10} "
            f"{ms(s['same_p50_ms_at_single_rate']):>9} {ms(s['same_p99_ms_at_single_rate']):>9} "
            f"{fx.fmt(s['server_us_per_update_at_single_rate']):>14} | "
            f"{s['lowest_rate']!s:>6} {ms(low.get('cross_p50_ms')):>10} "
            f"{ms(low.get('cross_p99_ms')):>10} {ms(low.get('same_p50_ms')):>9} "
            f"{ms(low.get('same_p99_ms')):>9}"
        )
    for scenario in dict.fromkeys(r["scenario"] for r in results):
        rows = [r for r in results if r["scenario"] == scenario]
        print(f"\n== {scenario}: p50 / p99 ms (cross-instance p99) per rate ==")
        print(f"  {'rate/s':>7}" + "".join(f"  {'N=' + str(r['workers']):<34}" for r in rows))
        for rate in sorted({x["rate"] for r in rows for x in r["rates"]}):
            line = f"  {rate:>7}"
            for r in rows:
                x = next((x for x in r["rates"] if x["rate"] == rate), None)
                text = fx.cell(x)
                if x is not None and x.get("cross_p99_ms") is not None:
                    text += f" ({x['cross_p99_ms']:.1f})"
                line += f"  {text:<34}"
            print(line)
    print(f"\n== Target: cross-instance p99 < {CROSS_P99_TARGET_MS:.0f} ms at N=1's rate ==")
    for s in summary:
        if s["workers"] == 1:
            continue
        p99 = s["cross_p99_ms_at_single_rate"]
        mark = "-" if p99 is None else ("met" if p99 < CROSS_P99_TARGET_MS else "NOT met")
        print(
            f"  {s['scenario']} N={s['workers']} at {s['single_process_rate']}/s: "
            f"cross p99 {'-' if p99 is None else f'{p99:.1f} ms'} -> {mark}"
        )


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--workers", default="1,2,4", help="values of N (default 1,2,4)")
    parser.add_argument(
        "--scenarios", default=None, help="ROOMSxCLIENTS,... (default 1x20,50x4; quick: 50x4)"
    )
    parser.add_argument("--rates", default=None, help="total updates/s, rising")
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--drain", type=float, default=None)
    parser.add_argument("--pool-size", type=int, default=5, help="database pool per process")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL: each run creates its own database beside it and drops it",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    fx.add_checkout_options(parser)
    fx.add_quiet_options(parser)
    opts = parser.parse_args(argv)
    if opts.scenarios is None:
        opts.scenarios = "50x4" if opts.quick else "1x20,50x4"
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
    fx.raise_fd_limit(8192)
    fx.RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = fx.RESULTS / "logs" / f"scaleout-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    counts = [int(n) for n in opts.workers.split(",") if n]
    scenarios = [fx.Scenario.parse(s) for s in opts.scenarios.split(",") if s]
    started = time.monotonic()
    print(
        f"scale-out benchmark: workers {counts}, scenarios {[s.label for s in scenarios]}, "
        f"rates {opts.rates}, {opts.duration} s each after {opts.warmup} s warm-up; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for scenario in scenarios:
        for workers in counts:
            result = run_workers(workers, scenario, opts, logs)
            results.append(result)
            print(
                f"  -> N={workers} {scenario.label}: sustained {result['sustained_rate']:,}/s; "
                f"clients per process {result['spread'].get('clients_per_process')}, "
                f"rooms spanning processes {result['spread'].get('rooms_spanning_processes')}; "
                f"stored {result['stored_updates']}/{result['sent_total']}; CPU pressure at "
                f"start {result['cpu_pressure_avg10_at_start']}%",
                flush=True,
            )
    summary = summarise(results)
    print_summary(results, summary)
    out = fx.RESULTS / f"scaleout-{stamp}.json"
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
