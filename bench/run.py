"""Run every benchmark in the project and write bench/results.json.

Each entry is one figure: {name, value, unit, peer, ratio}, where `peer`
names another entry measured in the same run and `ratio` is value / peer
(peer / value for costs such as bytes), so runs can be compared over time.
Figures depend on the machine and on what else it is running: the 1-minute
load average at the start is recorded with them.

    python bench/run.py [--10m] [--images N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import bench_hash
import bench_match
from common import Results

OUT = Path(__file__).resolve().parent / "results.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--10m", dest="ten_million", action="store_true", help="matching over 10M hashes too")
    parser.add_argument("--images", type=int, default=8, help="12 MP photos for the hashing benchmark")
    args = parser.parse_args()

    started = time.perf_counter()
    results = Results()
    results.add("machine.load_average_1min_at_start", os.getloadavg()[0], "runnable tasks")
    results.add("machine.cpus", os.cpu_count() or 0, "cpus")
    results.extend(bench_hash.run(["--images", str(args.images)]))
    results.extend(bench_match.run(["--10m"] if args.ten_million else []))
    results.add("bench.total_time", time.perf_counter() - started, "s")

    OUT.write_text(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
    print(f"\n{len(results)} figures written to {OUT}")
    print(f"({platform.python_implementation()} {platform.python_version()}, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
