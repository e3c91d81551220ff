"""Join storm (issue 10): 150 stock clients open one 4 MB document at the same moment.

    uv run python bench/joinstorm.py [--clients 150] [--mb 4] [--rounds 2]

Runs bench/joinstorm.mjs against our server (default SQLite store) and Hocuspocus 4, fresh
servers, interleaved, and prints time until each client holds the whole document: p50, p99,
max. Everything on 127.0.0.1; bounded in time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import BENCH, ROOT, node, running


def run_once(kind: str, clients: int, mb: float, logs: Path, tag: str) -> dict[str, object]:
    env = {"STORYARN_UPDATES_PER_SECOND": "100000", "STORYARN_UPDATE_BURST": "100000"}
    with running(kind, logs, tag, ROOT, extra_env=env) as server:
        out = subprocess.run(
            [
                node(),
                str(BENCH / "joinstorm.mjs"),
                "--kind",
                kind,
                "--port",
                str(server.port),
                "--clients",
                str(clients),
                "--mb",
                str(mb),
            ],
            capture_output=True,
            timeout=180,
            check=False,
            cwd=BENCH,
        )
    if out.returncode != 0:
        raise RuntimeError(f"{kind}: joinstorm.mjs failed: {out.stderr.decode()[-2000:]}")
    result: dict[str, object] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--mb", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="joinstorm-"))
    for round_no in range(args.rounds):
        for kind in ("ours", "hocuspocus"):
            r = run_once(kind, args.clients, args.mb, logs, f"r{round_no}")
            print(
                f"round {round_no} {kind:10} {r['synced']}/{r['clients']} synced "
                f"doc {int(r['bytes']) / 1e6:.1f} MB  p50 {r['p50']} ms  p99 {r['p99']} ms  "
                f"max {r['max']} ms"
            )


if __name__ == "__main__":
    main()
