"""Join storm (issue 10): 150 clients open one 4 MB document at the same moment.

    uv run python bench/joinstorm.py [--clients 150] [--mb 4] [--rounds 2] [--decode]

Runs bench/joinstorm.mjs against our server (default SQLite store) and Hocuspocus 4, fresh
servers, interleaved, and prints time until each client holds the whole document: p50, p99,
max. By default the joiners stop the clock when the whole sync step 2 has arrived (the server's
work); `--decode` uses stock providers that also decode it, which on 2 cores measures the Node
process decoding 150 copies. Everything on 127.0.0.1; bounded in time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import BENCH, add_checkout_options, node, ours_checkout, running


def run_once(
    kind: str, clients: int, mb: float, logs: Path, tag: str, decode: bool, root: Path
) -> dict[str, object]:
    env = {"STORYARN_UPDATES_PER_SECOND": "100000", "STORYARN_UPDATE_BURST": "100000"}
    with running(kind, logs, tag, root, extra_env=env) as server:
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
                "--decode",
                "1" if decode else "0",
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
    parser.add_argument("--decode", action="store_true", help="stock providers decode the doc")
    add_checkout_options(parser)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="joinstorm-"))
    with ours_checkout(args) as root:
        for round_no in range(args.rounds):
            for kind in ("ours", "hocuspocus"):
                r = run_once(kind, args.clients, args.mb, logs, f"r{round_no}", args.decode, root)
                print(
                    f"round {round_no} {kind:10} {r['synced']}/{r['clients']} synced "
                    f"({r['verified']} verified whole) "
                    f"doc {int(r['bytes']) / 1e6:.1f} MB  p50 {r['p50']} ms  p99 {r['p99']} ms  "
                    f"max {r['max']} ms"
                )


if __name__ == "__main__":
    main()
