"""Throughput with 1, 2, 4 and 8 workers (AWS_LAMBDA_MAX_CONCURRENCY) for an I/O-bound handler.

    python scripts/bench_concurrency.py [--workers 1,2,4,8] [--modes process,threads,asyncio]
                                        [--per-worker 60] [--sleep-ms 20] [--json PATH]

Each mode runs the same handler (sleep 20 ms, answer a small JSON object) as a real process against a
mock Runtime API on 127.0.0.1 that serves concurrent ``/next`` long-polls (``lambda_runtime.testing.
RuntimeAPIServer``: one thread per connection):

* ``process``: ``LambdaRuntime`` (``python -m lambda_runtime``), one process per worker;
* ``threads``: ``LambdaManagedRuntime`` with a ``def`` handler, one thread per worker;
* ``asyncio``: ``LambdaManagedRuntime`` with an ``async def`` handler, one task per worker.

The clock starts once every worker is waiting in ``/next`` (start-up and init are not counted) and stops
at the last answer; ``--per-worker`` invocations per worker are served (``MAX_INVOCATIONS``). Reported:
invocations per second, the ratio to 1 worker of the same mode (near-linear means close to the worker
count; the ideal for a 20 ms sleep is 50/s per worker), and the peak resident memory of the whole process
tree: the sum of every process's ``VmHWM`` (sampled every 20 ms, so a process's shared pages are counted
once per process: an upper bound for the process mode). Standard library and lambda_runtime only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lambda_runtime.testing import RuntimeAPIServer

# Two modules, so that the plain handler's processes do not import asyncio (its memory would count).
HANDLER = """
import time


def handler(event, context):
    time.sleep({seconds})
    return {{"ok": True}}
"""
ASYNC_HANDLER = """
import asyncio


async def handler(event, context):
    await asyncio.sleep({seconds})
    return {{"ok": True}}
"""

MODES = {
    "process": ("bench_io.handler", "0"),
    "threads": ("bench_io.handler", "1"),
    "asyncio": ("bench_io_async.handler", "1"),
}
TIMEOUT = 120.0


def tree_peak_rss_kib(pid: int) -> int:
    """The sum of VmHWM over ``pid`` and its descendants (0 where /proc is missing)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for tid in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{tid}/children").read_text().split()
                pending.extend(int(child) for child in children)
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total


def measure(mode: str, workers: int, per_worker: int, directory: Path) -> dict[str, float]:
    handler, managed = MODES[mode]
    invocations = workers * per_worker
    with RuntimeAPIServer(next_timeout=TIMEOUT) as api:
        env = {
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_MAX_CONCURRENCY": str(workers),
            "LAMBDA_MANAGED_RUNTIME": managed,
            "MAX_INVOCATIONS": str(invocations),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "lambda_runtime", handler],
            cwd=directory,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_peak_rss_kib(process.pid))
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            deadline = time.monotonic() + TIMEOUT
            while sum(1 for request in list(api.requests) if request[0] == "GET") < workers:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{mode} with {workers} workers did not start")
                time.sleep(0.002)
            began = time.monotonic()
            request_ids = [api.enqueue(b'{"name":"Ada"}') for _ in range(invocations)]
            for request_id in request_ids:
                result = api.wait_for(request_id, timeout=TIMEOUT)
                if result.is_error or result.body != b'{"ok":true}':
                    raise RuntimeError(f"{mode}: unexpected answer {result.body[:200]!r}")
            elapsed = time.monotonic() - began
            peak[0] = max(peak[0], tree_peak_rss_kib(process.pid))
            if process.wait(TIMEOUT) != 0:
                raise RuntimeError(f"{mode} with {workers} workers exited with {process.returncode}")
        finally:
            done.set()
            sampler.join(5)
            if process.poll() is None:
                process.kill()
                process.wait(10)
    return {
        "invocations": invocations,
        "seconds": elapsed,
        "per_second": invocations / elapsed,
        "peak_rss_mib": peak[0] / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--per-worker", type=int, default=60, help="invocations per worker (60)")
    parser.add_argument("--sleep-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args()
    counts = [int(text) for text in args.workers.split(",")]
    modes = [mode for mode in args.modes.split(",") if mode]
    results: dict[str, dict[int, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        (directory / "bench_io.py").write_text(HANDLER.format(seconds=args.sleep_ms / 1000))
        (directory / "bench_io_async.py").write_text(ASYNC_HANDLER.format(seconds=args.sleep_ms / 1000))
        for mode in modes:
            results[mode] = {}
            for count in counts:
                sys.stderr.write(f"{mode}, {count} worker(s)...\n")
                results[mode][count] = measure(mode, count, args.per_worker, directory)
    ideal = 1000 / args.sleep_ms
    print(
        f"I/O-bound handler (sleep {args.sleep_ms:g} ms; ideal {ideal:.0f} invocations/s per worker), "
        f"{args.per_worker} invocations per worker\n"
    )
    print("| mode | workers | invocations/s | vs 1 worker | of ideal | peak RSS MiB (tree) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for mode, by_count in results.items():
        base = by_count.get(1, {}).get("per_second")
        for count, numbers in by_count.items():
            ratio = f"{numbers['per_second'] / base:.2f}x" if base else "—"
            of_ideal = numbers["per_second"] / (ideal * count)
            print(
                f"| {mode} | {count} | {numbers['per_second']:.1f} | {ratio} | {of_ideal:.0%} | "
                f"{numbers['peak_rss_mib']:.1f} |"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
