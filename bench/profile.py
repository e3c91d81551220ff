"""Where our server spends its CPU under the fan-out load (issue 10: profile-led work).

    uv run python bench/profile.py [--scenario 50x4] [--rate 1600] [--seconds 20] [--snapshot]

Starts our server as `bench/fanout.py` does, drives it with `bench/fanout.mjs` at one fixed
rate, and samples it with py-spy (`--nonblocking --gil`, 200 Hz: only the thread that holds the
GIL, i.e. Python running, not waiting) for the measured seconds. Prints the
functions with the most samples on top of the stack (self time) and the share of our own
modules, third-party code and the interpreter (inclusive). Everything on 127.0.0.1; bounded.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import (
    Scenario,
    add_checkout_options,
    flags,
    loadgen,
    ours_checkout,
    ours_env,
    read_events,
    running,
)

OURS = ("server/", "crdt/", "persistence/")


def frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (pycrdt/_doc.py:123)": drop the line number.
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})"


def _module(name: str) -> str:
    return name.rsplit("(", 1)[1].rstrip(")")


def summarise(raw: Path, top: int) -> None:
    leaf: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf[frame_name(frames[-1])] += count
        seen = set()
        for frame in frames:
            module = _module(frame_name(frame))
            if module.startswith(OURS) and module not in seen:
                seen.add(module)
                ours[module] += count
    print(f"\n{total} samples")
    print("\nSelf time (top of the stack):")
    for name, count in leaf.most_common(top):
        print(f"  {100 * count / total:5.1f} %  {name}")
    print("\nOur modules on the stack (inclusive):")
    for module, count in ours.most_common(top):
        print(f"  {100 * count / total:5.1f} %  {module}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="50x4", help="ROOMSxCLIENTS, e.g. 1x20 or 50x4")
    parser.add_argument("--rate", type=int, default=1600)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=25)
    add_checkout_options(parser)
    args = parser.parse_args()
    scenario = Scenario.parse(args.scenario)
    logs = Path(tempfile.mkdtemp(prefix="profile-"))
    raw = logs / "profile.txt"
    spy = Path(sys.executable).parent / "py-spy"
    with ours_checkout(args) as root:
        args.ours_root = root
        with running("ours", logs, "profile", root, ours_env(args)) as server:
            proc = loadgen(
                flags(
                    mode="fanout",
                    kind="ours",
                    port=server.port,
                    rooms=scenario.rooms,
                    clients=scenario.clients,
                    rates=str(args.rate),
                    warmup=2,
                    duration=args.seconds,
                    drain=2,
                    server_pid=server.pid,
                    retries=1,
                ),
                60 + args.seconds * 2,
            )
            sampler = None
            for event in read_events(proc):
                if sampler is None:
                    # The first event arrives once the clients are connected and warm.
                    sampler = subprocess.Popen(
                        [
                            str(spy),
                            "record",
                            "--pid",
                            str(server.pid),
                            "--duration",
                            str(int(args.seconds)),
                            "--rate",
                            "200",
                            "--nonblocking",
                            "--gil",  # only the thread holding the GIL: CPU, not waiting
                            "--format",
                            "raw",
                            "--output",
                            str(raw),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                if event.get("event") == "rate":
                    print(
                        f"{args.scenario} at {event['rate']}/s: p50 {event.get('p50_ms')} ms, "
                        f"p99 {event.get('p99_ms')} ms, delivered {event.get('delivered')}"
                        f"/{event.get('expected')}"
                    )
            proc.wait(timeout=30)
            if sampler is not None:
                sampler.wait(timeout=args.seconds + 30)
    if raw.exists():
        summarise(raw, args.top)
    else:
        print(f"py-spy wrote nothing; see {logs}")


if __name__ == "__main__":
    main()
