"""Bulk twcs ingest: tweets per second and peak memory, against a bare baseline.

Every measurement runs in a fresh child process, so its memory and CPU belong
to that run alone. Peak memory is the resident memory of the child and all its
descendants (the product scores sentiment in worker processes), summed and
sampled every 20 ms, and never less than the child's own getrusage maxrss.
CPU is the user + system time of the whole tree during the work.

The baseline is the least work any ingest must do: read the same CSV with
csv.reader and score each customer tweet with VADER, in one process. Baseline
and product runs alternate; the best time of --repeat runs counts, since a
noisy machine only ever makes a run slower.

    .venv/bin/python bench/bench_ingest.py --sizes 100000 1000000 --repeat 3
    .venv/bin/python bench/bench_ingest.py --sizes 100000 --profile --workers 0
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from generate_twcs import REPO, write_csv
from supportpulse.config import IngestSettings, Settings
from supportpulse.ingest.pipeline import IngestOptions, ingest_file
from supportpulse.logs import configure_logging
from supportpulse.store import open_store, parse_store_url

DATA = REPO / "bench" / ".data"
TARGET_RATE = 50_000
TARGET_PEAK_MB = 500
_RESULT = "RESULT "
_MB = 2**20


def input_file(size: int) -> Path:
    """The generated file of `size` tweets, made on first use."""
    path = DATA / f"twcs_{size}.csv"
    if not path.exists():
        write_csv(path, size, timedelta(hours=1))
    return path


def bare_read_and_score(path: Path) -> int:
    """The baseline: parse every row, score customer text; returns rows read."""
    analyzer = SentimentIntensityAnalyzer()
    rows = 0
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        inbound, text = header.index("inbound"), header.index("text")
        for row in reader:
            rows += 1
            if row[inbound] == "True":
                analyzer.polarity_scores(row[text])["compound"]
    return rows


def product_ingest(path: Path, limits: dict[str, int]) -> int:
    """The product: ingest_file into a fresh DuckDB store; returns rows read."""
    settings = Settings(ingest=IngestSettings(**limits))
    with tempfile.TemporaryDirectory(dir=DATA) as scratch:
        store = open_store(parse_store_url(str(Path(scratch) / "store.duckdb")))
        with store:
            summary = ingest_file(path, store, settings, IngestOptions())
            stored = store.count("messages")
    if summary.quarantined or stored != summary.rows:
        raise SystemExit(f"ingest lost rows: {summary}, {stored} messages stored")
    return summary.rows


def _cpu_seconds() -> float:
    # Workers count once joined, which the product's pool does before returning.
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


class TreeMemory:
    """Samples the resident memory of this process and its descendants."""

    def __init__(self, interval: float = 0.02) -> None:
        self.peak = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self._interval):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue  # a worker that ended between listing and reading
            self.peak = max(self.peak, total)


def child(kind: str, path: Path, limits: dict[str, int]) -> None:
    """Run one measurement in this process and print it as a JSON line."""
    configure_logging("warning")
    idle = psutil.Process().memory_info().rss
    cpu = _cpu_seconds()
    with TreeMemory() as memory:
        started = time.perf_counter()
        baseline = kind == "baseline"
        rows = bare_read_and_score(path) if baseline else product_ingest(path, limits)
        seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    # Linux reports maxrss in KiB.
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "rows": rows,
        "seconds": seconds,
        "cpu": cpu,
        "idle_mb": idle / _MB,
        "peak_mb": max(memory.peak, own_peak) / _MB,
        "own_peak_mb": own_peak / _MB,
    }
    print(_RESULT + json.dumps(result), flush=True)


def profile_ingest(path: Path, limits: dict[str, int], top: int = 30) -> None:
    """Where product ingest time goes in this process: cProfile by own time."""
    configure_logging("warning")
    profiler = cProfile.Profile()
    profiler.runcall(product_ingest, path, limits)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def run_child(kind: str, path: Path, limits: dict[str, int]) -> dict[str, Any]:
    """One measurement in a child process; a failed run returns its error."""
    command = _child_command(kind, path, limits)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if "Error" in line]
        return {"error": (lines or [f"exit {done.returncode}"])[-1][:120]}
    line = next(x for x in done.stdout.splitlines() if x.startswith(_RESULT))
    return json.loads(line.removeprefix(_RESULT))


def _child_command(kind: str, path: Path, limits: dict[str, int]) -> list[str]:
    names = {"sentiment_workers": "--workers", "memory_limit_mb": "--memory-mb"}
    flags = [
        part for name, value in limits.items() for part in (names[name], str(value))
    ]
    return [sys.executable, __file__, "--child", kind, str(path), *flags]


def bench(sizes: list[int], repeat: int, limits: dict[str, int]) -> None:
    """Alternate baseline and product runs per size; print the best of each."""
    print(f"{'tweets':>9} {'run':>8} {'best s':>7} {'tweets/s':>9} {'x base':>7}"
          f" {'CPU s':>6} {'idle MB':>7} {'peak MB':>7} {'main MB':>7}")  # fmt: skip
    for size in sizes:
        path = input_file(size)
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "ingest": []}
        for _ in range(repeat):
            for kind, results in runs.items():
                # A failure (out of memory, say) repeats; once is enough.
                if not any("error" in run for run in results):
                    results.append(run_child(kind, path, limits))

        base = size / min(run["seconds"] for run in runs["baseline"])
        for kind, results in runs.items():
            failed = [run["error"] for run in results if "error" in run]
            if failed:
                print(f"{size:>9,} {kind:>8} FAILED: {failed[0]}")
                continue
            best = min(results, key=lambda run: run["seconds"])
            rate = size / best["seconds"]
            peak = max(run["peak_mb"] for run in results)
            main_peak = max(run["own_peak_mb"] for run in results)
            print(f"{size:>9,} {kind:>8} {best['seconds']:>7.2f} {rate:>9,.0f}"
                  f" {rate / base:>6.2f}x {best['cpu']:>6.1f} {best['idle_mb']:>7.0f}"
                  f" {peak:>7.0f} {main_peak:>7.0f}")  # fmt: skip
    print(
        f"targets: >= {TARGET_RATE:,} tweets/s; peak < {TARGET_PEAK_MB} MB for any size"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each kind per size"
    )
    parser.add_argument("--workers", type=int, help="ingest.sentiment_workers setting")
    parser.add_argument("--memory-mb", type=int, help="ingest.memory_limit_mb setting")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one ingest per size"
    )
    parser.add_argument(
        "--child", choices=["baseline", "ingest", "profile"], help=argparse.SUPPRESS
    )
    parser.add_argument("file", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Unset options keep the product's defaults.
    limits = {
        name: value
        for name, value in (
            ("sentiment_workers", args.workers),
            ("memory_limit_mb", args.memory_mb),
        )
        if value is not None
    }

    if args.child == "profile":
        profile_ingest(args.file, limits)
    elif args.child:
        child(args.child, args.file, limits)
    elif args.profile:
        for size in args.sizes:
            command = _child_command("profile", input_file(size), limits)
            subprocess.run(command, check=True)
    else:
        bench(args.sizes, args.repeat, limits)


if __name__ == "__main__":
    main()
