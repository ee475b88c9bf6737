"""Sample the resident memory of process trees until stopped; keep each tree's peak.

    python bench/memwatch.py --out memory.json web=<gunicorn master pid> worker=<celery pid>

A tree is the process and all its children (gunicorn workers, Celery's pool). The
peak of the summed RSS is rewritten to --out after every sample, so stopping the
sampler with SIGTERM loses nothing.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

import psutil


def tree_rss(pid: int) -> tuple[int, int]:
    """Summed RSS in bytes of a process and its descendants, and how many there are."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    total = 0
    alive = 0
    for process in processes:
        try:
            total += process.memory_info().rss
            alive += 1
        except psutil.NoSuchProcess:
            continue
    return total, alive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("trees", nargs="+", help="name=pid")
    options = parser.parse_args(argv)
    trees = {name: int(pid) for name, pid in (tree.split("=", 1) for tree in options.trees)}
    peaks = {name: {"peak_rss_mb": 0.0, "processes": 0, "samples": 0} for name in trees}
    running = True

    def stop(*_args) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while running:
        for name, pid in trees.items():
            rss, count = tree_rss(pid)
            peak = peaks[name]
            peak["samples"] += 1
            if rss / 2**20 > peak["peak_rss_mb"]:
                peak["peak_rss_mb"] = round(rss / 2**20, 1)
                peak["processes"] = count
        with open(options.out, "w") as out:
            json.dump({"interval_seconds": options.interval, "trees": peaks}, out, indent=2)
        time.sleep(options.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
