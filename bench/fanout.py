"""Fan-out and idle-memory benchmark: our server vs pycrdt-websocket vs Hocuspocus 4.

    uv run python bench/fanout.py            # full run (about 8-9 minutes on 2 cores)
    uv run python bench/fanout.py --quick    # a smoke run (2-3 minutes)
    uv run python bench/fanout.py --servers ours,pycrdt,hocuspocus   # without ours-memory

Servers: ours (`storyarn serve`, default SQLite store), ours-memory (the same server on
STORYARN_STORE=memory: nothing durable, a diagnostic), pycrdt (pycrdt-websocket 0.16.5) and
hocuspocus (Hocuspocus 4.7).

Fan-out: for each scenario (1 room x 20 clients, 50 rooms x 4 clients), each server is started
fresh, interleaved in one run, and `bench/fanout.mjs` (one Node process of stock clients) drives
it: one writer per room sends small Y.Map updates at a fixed total rate, rising, and every other
client records the latency of every update. A rate is sustained when every other client received
every update with p99 under 100 ms. Memory: RSS of a fresh server before connecting, with N idle
connections in 1 room, and with N idle connections in N rooms.

Prints tables and writes everything to bench/results/fanout-<time>.json. Everything talks to
127.0.0.1 only, and every step is bounded in time. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
SERVERS = ("ours", "ours-memory", "pycrdt", "hocuspocus")
SERVER_NAMES = {
    "ours": "storyarn",
    "ours-memory": "storyarn, in-memory store",
    "ours-sqlite": "storyarn, SQLite store",
    "ours-postgres": "storyarn, Postgres store",
    "pycrdt": "pycrdt-websocket 0.16.5",
    "hocuspocus": "Hocuspocus 4.7",
}
FULL_RATES = (100, 200, 400, 800, 1600, 3200, 6400)
QUICK_RATES = (200, 800, 3200)
P99_LIMIT_MS = 100.0

# Our server with the per-connection rate limits out of the way (the writer alone sends up to
# 6,400 updates a second); everything else at its defaults.
OURS_ENV = {
    "STORYARN_ENV": "development",
    "STORYARN_LOG_LEVEL": "warning",
    "STORYARN_UPDATES_PER_SECOND": "1000000",
    "STORYARN_UPDATE_BURST": "10000000",
    "STORYARN_BYTES_PER_SECOND": "1000000000",
    "STORYARN_BYTES_BURST": "10000000000",
    "STORYARN_AWARENESS_PER_SECOND": "100000",
    "STORYARN_AWARENESS_BURST": "1000000",
    # Thousands of clients of one user from one address: the abuse limits would refuse them.
    "STORYARN_CONNECT_RATE_PER_ADDRESS": "0",
    "STORYARN_CONNECT_RATE_PER_USER": "0",
    "STORYARN_MAX_CONNECTIONS_PER_USER": "0",
}


@dataclass(frozen=True)
class Scenario:
    rooms: int
    clients: int

    @property
    def label(self) -> str:
        return f"{self.rooms}x{self.clients}"

    @classmethod
    def parse(cls, text: str) -> Scenario:
        rooms, clients = text.lower().split("x")
        return cls(int(rooms), int(clients))


@dataclass
class ServerProcess:
    kind: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def server_command(
    kind: str,
    port: int,
    data_dir: Path,
    ours_root: Path,
    extra_env: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, str], Path]:
    """The command, environment and working directory that start `kind` on `port`.

    Our server's kinds: ours / ours-sqlite (a fresh SQLite file), ours-postgres (DATABASE_URL
    in `extra_env`), ours-memory (STORYARN_STORE=memory). `extra_env` is applied last.
    """
    env = dict(os.environ)
    if kind.startswith("ours"):
        env.update(OURS_ENV)
        if kind == "ours-memory":
            # Diagnostic: the same server with nothing committed anywhere (STORYARN_STORE=memory),
            # which shows what the database commit costs on the update path.
            env["STORYARN_STORE"] = "memory"
        else:
            env["STORYARN_STORE"] = "sql"
        # A fresh SQLite database per start (the default store: every update is committed).
        env["STORYARN_DATA_DIR"] = str(data_dir)
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)  # one process: no cross-instance fan-out
        env.update(extra_env or {})
        if kind == "ours-postgres" and "DATABASE_URL" not in env:
            raise ValueError("ours-postgres needs DATABASE_URL in extra_env")
        cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
        return cmd, env, ours_root
    if kind == "pycrdt":
        script = BENCH / "baselines" / "pycrdt_websocket_server.py"
        return [sys.executable, str(script), str(port)], env, ROOT
    if kind == "hocuspocus":
        return [node(), str(BENCH / "baselines" / "hocuspocus_server.mjs"), str(port)], env, ROOT
    raise ValueError(kind)


def node() -> str:
    path = shutil.which("node")
    if path is None:
        raise SystemExit("node is not on PATH: the load generator and Hocuspocus need Node 20+")
    return path


def start_server(
    kind: str,
    logs: Path,
    tag: str,
    ours_root: Path,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    cmd_suffix: tuple[str, ...] = (),
) -> ServerProcess:
    port = port or free_port()
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    cmd, env, cwd = server_command(kind, port, data_dir, ours_root, extra_env)
    cmd = [*cmd, *cmd_suffix]
    log_path = logs / f"{tag}-{kind}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = ServerProcess(kind, port, proc, log_path, data_dir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited with {proc.returncode}; see {log_path}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            time.sleep(0.5)  # let the lifespan and imports settle before measuring anything
            return server
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"{kind} did not listen on {port} within 30 s; see {log_path}")


def stop_server(server: ServerProcess) -> None:
    proc = server.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    shutil.rmtree(server.data_dir, ignore_errors=True)


@contextlib.contextmanager
def running(
    kind: str,
    logs: Path,
    tag: str,
    ours_root: Path,
    extra_env: dict[str, str] | None = None,
    cmd_suffix: tuple[str, ...] = (),
) -> Iterator[ServerProcess]:
    server = start_server(kind, logs, tag, ours_root, extra_env, cmd_suffix=cmd_suffix)
    try:
        yield server
    finally:
        stop_server(server)


def cpu_pressure_avg10() -> float | None:
    """% of the last 10 s in which some runnable task waited for a CPU (Linux PSI)."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return None
    return float(line.split("avg10=")[1].split()[0])


def wait_for_quiet(opts: argparse.Namespace) -> dict[str, Any]:
    """With --quiet-wait S: wait up to S seconds for CPU pressure (PSI avg10) to fall under
    --quiet-psi before a server starts. The machine is shared: this only lowers the odds that
    someone else's test suite lands on a measurement; what it found is recorded either way."""
    limit = getattr(opts, "quiet_psi", 25.0)
    deadline = time.monotonic() + getattr(opts, "quiet_wait", 0.0)
    waited = 0.0
    start = time.monotonic()
    while True:
        psi = cpu_pressure_avg10()
        if psi is None or psi < limit or time.monotonic() >= deadline:
            break
        time.sleep(2)
        waited = time.monotonic() - start
    return {"cpu_pressure_avg10_at_start": psi, "waited_for_quiet_s": round(waited, 1)}


def ours_env(opts: argparse.Namespace) -> dict[str, str]:
    """--ours-env KEY=VALUE settings for our server (diagnostics, e.g. compaction off)."""
    pairs = [item.split("=", 1) for item in getattr(opts, "ours_env", None) or []]
    return {key: value for key, value in pairs}


def add_quiet_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ours-env",
        action="append",
        metavar="KEY=VALUE",
        help="extra environment for our server, e.g. STORYARN_COMPACT_ROWS=10000000 (repeatable)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="re-measure a rate that failed only by a latency spike (all delivered, p50 < 20 ms)"
        " up to this many times (default 1; 0 = strict)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each server start, wait up to this many seconds for the machine to calm",
    )
    parser.add_argument(
        "--quiet-psi",
        type=float,
        default=25.0,
        help="calm means CPU pressure (PSI some avg10) under this %% (default 25)",
    )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def settled_rss_kib(pid: int, samples: int = 5, interval: float = 0.5) -> int:
    values = []
    for _ in range(samples):
        time.sleep(interval)
        values.append(rss_kib(pid))
    return int(statistics.median(values))


def loadgen(args: list[str], deadline: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [node(), str(BENCH / "fanout.mjs"), *args, "--deadline", str(int(deadline))],
        cwd=BENCH,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,  # Node warnings go straight to our stderr
        text=True,
    )


def client_protocol(kind: str) -> str:
    """Which clients and URL scheme the load generator uses for a server kind."""
    return "ours" if kind.startswith("ours") else kind


def flags(**values: object) -> list[str]:
    """`server_pid=7` -> `["--server-pid", "7"]`."""
    out = []
    for name, value in values.items():
        out += [f"--{name.replace('_', '-')}", str(value)]
    return out


def read_events(proc: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        if not line.startswith("{"):
            continue
        yield json.loads(line)


# -- fan-out -----------------------------------------------------------------------------------


def run_fanout(
    kind: str,
    scenario: Scenario,
    opts: argparse.Namespace,
    logs: Path,
    tag: str,
    *,
    extra_env: dict[str, str] | None = None,
    after: Callable[[ServerProcess], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One server, one scenario, the whole rate ladder. `after(server)` runs once the load
    generator is done, with the server still up; what it returns is merged into the result."""
    rates = [int(r) for r in opts.rates.split(",")]
    per_rate = opts.warmup + opts.duration + opts.drain + 1
    budget = 60 + per_rate * len(rates) * 1.5
    quiet = wait_for_quiet(opts)
    load1 = os.getloadavg()[0]
    extra: dict[str, Any] = {}
    extra_env = {**ours_env(opts), **(extra_env or {})} if kind.startswith("ours") else extra_env
    with running(kind, logs, tag, opts.ours_root, extra_env) as server:
        proc = loadgen(
            flags(
                mode="fanout",
                kind=client_protocol(kind),
                port=server.port,
                rooms=scenario.rooms,
                clients=scenario.clients,
                rates=",".join(map(str, rates)),
                warmup=opts.warmup,
                duration=opts.duration,
                drain=opts.drain,
                server_pid=server.pid,
                retries=getattr(opts, "retries", 1),
            ),
            budget,
        )
        results: list[dict[str, Any]] = []
        error = None
        try:
            for event in read_events(proc):
                if event["event"] == "rate":
                    results.append(event)
                    print_rate_line(kind, scenario, event)
                elif event["event"] == "error":
                    error = event["error"]
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0 and error is None:
            error = f"load generator exited with {proc.returncode}"
        if after is not None:
            extra = after(server)
    if error:
        print(f"    ! {kind} {scenario.label}: {error}", flush=True)
    return {
        "server": kind,
        "scenario": scenario.label,
        "loadavg_before": round(load1, 2),
        **quiet,
        "rates": results,
        "sustained_rate": sustained(results),
        "error": error,
        **extra,
    }


def sustained(results: list[dict[str, Any]]) -> int:
    passing = [r["rate"] for r in results if r.get("ok")]
    return max(passing, default=0)


def print_rate_line(kind: str, scenario: Scenario, r: dict[str, Any]) -> None:
    if r.get("skipped"):
        print(f"    {kind:<11} {scenario.label:<6} {r['rate']:>6}/s  skipped", flush=True)
        return
    print(
        f"    {kind:<11} {scenario.label:<6} {r['rate']:>6}/s  "
        f"{r['delivered']:>7}/{r['expected']:<7} p50 {fmt_ms(r['p50_ms'])} "
        f"p99 {fmt_ms(r['p99_ms'])}  {'ok ' if r['ok'] else 'FAIL'} "
        f"srv {fmt(r['server_cpu_pct'])}% gen {fmt(r['loadgen_cpu_pct'])}% "
        f"machine {fmt(r.get('machine_busy_pct'))}% cpu-stall {fmt(r.get('cpu_pressure_pct'))}% "
        f"reconn {r['reconnects']}"
        + (
            f"  (attempt {r['attempts']}; before: p99 {r['earlier_attempts'][0]['p99_ms']})"
            if r.get("attempts", 1) > 1
            else ""
        ),
        flush=True,
    )


def fmt_ms(value: float | None) -> str:
    return "      -" if value is None else f"{value:7.1f}"


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


# -- memory ------------------------------------------------------------------------------------


def run_memory(
    kind: str, connections: int, rooms: int, logs: Path, tag: str, ours_root: Path
) -> dict[str, Any]:
    with running(kind, logs, tag, ours_root) as server:
        baseline = settled_rss_kib(server.pid)
        proc = loadgen(
            flags(
                mode="memory",
                kind=client_protocol(kind),
                port=server.port,
                connections=connections,
                rooms=rooms,
            ),
            240,
        )
        loaded = None
        error = None
        try:
            assert proc.stdin is not None
            for event in read_events(proc):
                if event["event"] == "holding":
                    time.sleep(1.0)
                    loaded = settled_rss_kib(server.pid)
                    proc.stdin.write("release\n")
                    proc.stdin.flush()
                elif event["event"] == "error":
                    error = event["error"]
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    result = {
        "server": kind,
        "connections": connections,
        "rooms": rooms,
        "rss_before_kib": baseline,
        "rss_loaded_kib": loaded,
        "error": error,
    }
    print(
        f"    {kind:<11} {connections} connections / {rooms:>5} rooms: "
        f"RSS {baseline / 1024:.1f} MiB -> "
        f"{'-' if loaded is None else f'{loaded / 1024:.1f}'} MiB"
        f"{'  ! ' + error if error else ''}",
        flush=True,
    )
    return result


def memory_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    summary = []
    for kind in dict.fromkeys(r["server"] for r in rows):
        mine = [r for r in rows if r["server"] == kind and r["rss_loaded_kib"] is not None]
        one = next((r for r in mine if r["rooms"] == 1), None)
        many = next((r for r in mine if r["rooms"] > 1), None)
        if one is None:
            continue
        n = one["connections"]
        per_conn = (one["rss_loaded_kib"] - one["rss_before_kib"]) / n
        per_room = None
        if many is not None:
            # Same connections; the difference is rooms - 1 more rooms (both from a fresh start).
            grown_many = many["rss_loaded_kib"] - many["rss_before_kib"]
            grown_one = one["rss_loaded_kib"] - one["rss_before_kib"]
            per_room = (grown_many - grown_one) / (many["rooms"] - 1)
        summary.append(
            {
                "server": kind,
                "connections": n,
                "rss_before_mib": round(one["rss_before_kib"] / 1024, 1),
                "kib_per_connection": round(per_conn, 1),
                "kib_per_room": None if per_room is None else round(per_room, 1),
            }
        )
    return summary


# -- tables ------------------------------------------------------------------------------------


def print_tables(fanout: list[dict[str, Any]], memory: list[dict[str, Any]]) -> None:
    print("\n== Sustained rate (every update to every other client, p99 < 100 ms) ==")
    scenarios = list(dict.fromkeys(r["scenario"] for r in fanout))
    kinds = list(dict.fromkeys(r["server"] for r in fanout))
    print(f"  {'server':<26}" + "".join(f"{s:>16}" for s in scenarios))
    for kind in kinds:
        cells = []
        for s in scenarios:
            values = [
                r["sustained_rate"] for r in fanout if r["server"] == kind and r["scenario"] == s
            ]
            cells.append(" / ".join(f"{v:,}" for v in values) + "/s")
        print(f"  {SERVER_NAMES[kind]:<26}" + "".join(f"{c:>16}" for c in cells))
    print_targets(fanout)
    for s in scenarios:
        print(f"\n== {s}: delivered/expected, p50 / p99 ms (last round) ==")
        rows = {r["server"]: r for r in fanout if r["scenario"] == s}
        rates = sorted({x["rate"] for r in rows.values() for x in r["rates"]})
        print(f"  {'rate/s':>7}" + "".join(f"  {SERVER_NAMES[k]:<34}" for k in rows))
        for rate in rates:
            line = f"  {rate:>7}"
            for r in rows.values():
                x = next((x for x in r["rates"] if x["rate"] == rate), None)
                line += f"  {cell(x):<34}"
            print(line)
    if memory:
        print("\n== Idle memory (RSS) ==")
        for m in memory_summary(memory):
            per_room = m["kib_per_room"]
            print(
                f"  {SERVER_NAMES[m['server']]:<26} base {m['rss_before_mib']:>6.1f} MiB  "
                f"{m['kib_per_connection']:>6.1f} KiB/connection  "
                f"{'-' if per_room is None else f'{per_room:.1f}'} KiB/room  "
                f"({m['connections']} connections)"
            )


def targets(fanout: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 2's targets per scenario and round: ours >= Hocuspocus, ours >= 5x pycrdt."""
    verdicts = []
    keys = dict.fromkeys((r["scenario"], r.get("round", 0)) for r in fanout)
    for scenario, round_no in keys:
        rates = {
            r["server"]: r["sustained_rate"]
            for r in fanout
            if r["scenario"] == scenario and r.get("round", 0) == round_no
        }
        ours = rates.get("ours")
        if ours is None:
            continue
        verdict: dict[str, Any] = {"scenario": scenario, "round": round_no, "ours": ours}
        if "hocuspocus" in rates:
            verdict["hocuspocus"] = rates["hocuspocus"]
            verdict["meets_hocuspocus"] = ours >= rates["hocuspocus"]
        if "pycrdt" in rates:
            verdict["pycrdt"] = rates["pycrdt"]
            verdict["x_pycrdt"] = None if not rates["pycrdt"] else ours / rates["pycrdt"]
            verdict["meets_5x_pycrdt"] = ours >= 5 * rates["pycrdt"]
        verdicts.append(verdict)
    return verdicts


def print_targets(fanout: list[dict[str, Any]]) -> None:
    verdicts = targets(fanout)
    if not verdicts:
        return
    print("\n== Targets: storyarn >= Hocuspocus (same run) and >= 5x pycrdt-websocket ==")
    for v in verdicts:
        parts = [f"  {v['scenario']:<6} round {v['round']}: storyarn {v['ours']:,}/s"]
        if "hocuspocus" in v:
            mark = "met" if v["meets_hocuspocus"] else "NOT met"
            parts.append(f"vs Hocuspocus {v['hocuspocus']:,}/s: {mark}")
        if "pycrdt" in v:
            ratio = "-" if v["x_pycrdt"] is None else f"{v['x_pycrdt']:.2f}x"
            mark = "met" if v["meets_5x_pycrdt"] else "NOT met"
            parts.append(f"vs pycrdt-websocket {v['pycrdt']:,}/s = {ratio} (5x: {mark})")
        print("; ".join(parts))


def cell(x: dict[str, Any] | None) -> str:
    if x is None:
        return "-"
    if x.get("skipped"):
        return "skipped"
    mark = ("" if x["ok"] else " x") + (" (2nd try)" if x.get("attempts", 1) > 1 else "")
    if x["p99_ms"] is None:
        return f"{x['delivered_ratio'] * 100:.1f}%{mark}"
    return f"{x['delivered_ratio'] * 100:.1f}% {x['p50_ms']:.1f} / {x['p99_ms']:.1f}{mark}"


# -- main --------------------------------------------------------------------------------------


def revision(root: Path) -> dict[str, Any]:
    """Which code `ours` ran: the commit and whether server code differed from it (read-only)."""
    info: dict[str, Any] = {"root": str(root)}
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "server", "crdt", "persistence"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        info.update(commit=head, dirty=bool(dirty))
    return info


@contextlib.contextmanager
def ours_checkout(opts: argparse.Namespace) -> Iterator[Path]:
    """Where our server runs from: --ours-root, or with --snapshot [REV] a `git archive` of REV
    (default HEAD) in a temporary directory, so that uncommitted edits and new commits made
    during the run cannot leak into it. Read-only for the repository."""
    if not getattr(opts, "snapshot", None):
        yield opts.ours_root.resolve()
        return
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{opts.snapshot}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    opts.snapshot_commit = commit
    tmp = Path(tempfile.mkdtemp(prefix=f"storyarn-{commit[:7]}-"))
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def add_checkout_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ours-root",
        type=Path,
        default=ROOT,
        help="checkout to run our server from (default: this one)",
    )
    parser.add_argument(
        "--snapshot",
        nargs="?",
        const="HEAD",
        default=None,
        metavar="REV",
        help="run our server from a `git archive` of REV (default HEAD), not the working tree",
    )


@contextlib.contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    """A fresh database beside `admin_url` (`postgresql://user@host:port/db`), dropped after.
    Yields its URL in the plain form operators use for DATABASE_URL."""
    base = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"storyarn_bench_{secrets.token_hex(5)}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(base, timeout=10)
        try:
            await conn.execute(statement, timeout=60)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def postgres_query(url: str, query: str) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return [tuple(row) for row in await conn.fetch(query, timeout=30)]
        finally:
            await conn.close()

    return asyncio.run(run())


def ours_revision(opts: argparse.Namespace) -> dict[str, Any]:
    if getattr(opts, "snapshot", None):
        return {
            "root": str(opts.ours_root),
            "commit": getattr(opts, "snapshot_commit", None),
            "snapshot": True,
            "dirty": False,
        }
    return revision(opts.ours_root)


def ensure_node_modules() -> None:
    if (BENCH / "node_modules" / "@hocuspocus" / "server").is_dir():
        return
    print("installing bench/node_modules (npm ci)", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH, check=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the fan-out runs (default 1)")
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help="ours,pycrdt,hocuspocus (and ours-memory: our app on the in-memory store)",
    )
    parser.add_argument(
        "--scenarios", default="1x20,50x4", help="ROOMSxCLIENTS,... (default 1x20,50x4)"
    )
    parser.add_argument("--rates", default=None, help="total updates/s, rising (default 100..6400)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds per rate, not counted")
    parser.add_argument("--duration", type=float, default=None, help="measured seconds per rate")
    parser.add_argument("--drain", type=float, default=None, help="max wait for stragglers, s")
    parser.add_argument("--memory-connections", type=int, default=None, help="default 2000")
    parser.add_argument("--memory-servers", default="ours,hocuspocus,pycrdt")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--no-fanout", action="store_true", help="skip the fan-out measurement")
    add_checkout_options(parser)
    add_quiet_options(parser)
    opts = parser.parse_args(argv)
    quick = opts.quick
    if opts.rates is None:
        opts.rates = ",".join(map(str, QUICK_RATES if quick else FULL_RATES))
    if opts.warmup is None:
        opts.warmup = 0.5 if quick else 1.0
    if opts.duration is None:
        opts.duration = 2.0 if quick else 5.0
    if opts.drain is None:
        opts.drain = 1.0 if quick else 3.0
    if opts.memory_connections is None:
        opts.memory_connections = 500 if quick else 2000
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    with ours_checkout(opts) as root:
        opts.ours_root = root
        return run_all(opts)


def run_all(opts: argparse.Namespace) -> int:
    ensure_node_modules()
    fd_limit = raise_fd_limit(max(8192, 3 * opts.memory_connections + 1024))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = RESULTS / "logs" / stamp
    logs.mkdir(parents=True, exist_ok=True)
    servers = [s for s in opts.servers.split(",") if s]
    scenarios = [Scenario.parse(s) for s in opts.scenarios.split(",") if s]
    started = time.monotonic()
    print(
        f"fan-out benchmark: servers {servers}, scenarios {[s.label for s in scenarios]}, "
        f"rates {opts.rates}, {opts.duration} s each after {opts.warmup} s warm-up; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, fd limit {fd_limit}",
        flush=True,
    )

    fanout: list[dict[str, Any]] = []
    if not opts.no_fanout:
        for round_no in range(opts.rounds):
            for scenario in scenarios:
                # Interleaved, fresh server each time; the order rotates from round to round.
                order = servers[round_no % len(servers) :] + servers[: round_no % len(servers)]
                for kind in order:
                    tag = f"r{round_no}-{scenario.label}"
                    result = run_fanout(kind, scenario, opts, logs, tag)
                    result["round"] = round_no
                    fanout.append(result)
                    print(
                        f"  -> {SERVER_NAMES[kind]} {scenario.label}: sustained "
                        f"{result['sustained_rate']:,}/s (CPU pressure at start "
                        f"{result['cpu_pressure_avg10_at_start']}%, waited "
                        f"{result['waited_for_quiet_s']} s)",
                        flush=True,
                    )

    memory: list[dict[str, Any]] = []
    if not opts.no_memory:
        n = opts.memory_connections
        for kind in [s for s in opts.memory_servers.split(",") if s]:
            for rooms in (1, n):
                memory.append(run_memory(kind, n, rooms, logs, f"mem-{rooms}", opts.ours_root))

    print_tables(fanout, memory)
    out = RESULTS / f"fanout-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "started": stamp,
                "elapsed_s": round(time.monotonic() - started, 1),
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "node": subprocess.run(
                        [node(), "--version"], capture_output=True, text=True, check=True
                    ).stdout.strip(),
                    "loadavg_end": os.getloadavg(),
                },
                "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(opts).items()},
                "ours_revision": ours_revision(opts),
                "p99_limit_ms": P99_LIMIT_MS,
                "fanout": fanout,
                "memory": memory,
                "memory_summary": memory_summary(memory),
                "targets": targets(fanout),
            },
            indent=2,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)} in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
