"""The benchmark in instructions: what ``bench.py`` times, counted by valgrind's callgrind instead.

Wall-clock ratios on a shared or virtual machine move by tens of percent from run to run (an idle vCPU's
wake-up alone changed the floor's round trip from ~85 to ~330 µs on the CI VM). Instructions executed do
not: for the same interpreter, code and environment (``PYTHONHASHSEED=0``), two runs count the same to a
fraction of a percent, whatever else the machine is doing. They are not time (a cache miss costs more
than an instruction), but they show what a change does to the runtime's own work, steadily.

Each contender of ``bench.py`` (the floor, lambda-runtime's three forms, awslambdaric) runs under
``valgrind --tool=callgrind`` against ``bench.py``'s mock Runtime API, serving the HelloWorld echo:

- **cold start**: from exec to waiting on its first ``/next`` (the mock holds it; the process is then
  stopped with SIGTERM, before any exit-time work);
- **per invocation**: the difference between a run of ``--many`` invocations and one of ``--few``,
  divided by the difference, each stopped the same way while waiting on the next ``/next``.

    python scripts/bench_instructions.py          # in an environment with the contenders installed

Needs valgrind (Debian's ``valgrind`` package); without it, says so and exits 0. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import bench

COLLECTED = re.compile(r"Collected : (\d+)")
WAIT_SECONDS = 300.0  # valgrind runs Python some 50 times slower


def count(arguments: list[str], invocations: int, python: str, settings: bench.Settings) -> int:
    """Instructions a contender executes from exec to waiting on /next after ``invocations`` events."""
    mock = bench.MockRuntimeAPI(bench.HELLO.event, invocations, 0, threading.Event())
    environment = bench.lambda_environment(mock.address, settings)
    # One more than it is given: a contender that honours MAX_INVOCATIONS must still be waiting on /next.
    environment.update(PYTHONHASHSEED="0", MAX_INVOCATIONS=str(invocations + 1))
    with tempfile.TemporaryDirectory() as directory:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={Path(directory) / 'callgrind.out'}",
            python,
            *arguments,
        ]
        child = subprocess.Popen(
            command,
            cwd=bench.SCRIPTS,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            if not mock.idle.wait(WAIT_SECONDS):
                raise RuntimeError(f"{arguments}: not waiting on /next after {WAIT_SECONDS:g} s")
            if mock.trace.answered != invocations:
                raise RuntimeError(f"{arguments}: answered {mock.trace.answered} of {invocations} events")
            os.killpg(child.pid, signal.SIGTERM)
            _, errors = child.communicate(timeout=WAIT_SECONDS)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            mock.stop()
    found = COLLECTED.search(errors)
    if found is None:
        raise RuntimeError(f"{arguments}: valgrind reported no count:\n{errors[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--few", type=int, default=100, help="invocations of the shorter run (100)")
    parser.add_argument("--many", type=int, default=600, help="invocations of the longer run (600)")
    parser.add_argument("--python", default=sys.executable, help="the contenders' interpreter")
    options = parser.parse_args()
    if options.many <= options.few:
        parser.error("--many must be more than --few")
    if shutil.which("valgrind") is None:
        print("bench_instructions: valgrind is not installed (apt-get install valgrind): nothing counted")
        return 0
    version, importable = bench.probe_interpreter(options.python)
    bench.compile_bytecode(options.python, ["lambda_runtime", "awslambdaric", "bench_handler", "bench_floor"])
    settings = bench.Settings(options.python, version, bench.HELLO, options.many, 0, WAIT_SECONDS)
    rows = []
    for contender in bench.CONTENDERS:
        arguments = contender.arguments(bench.HELLO)
        if arguments is None or (contender.requires and contender.requires not in importable):
            continue
        print(f"{contender.name}...", file=sys.stderr, flush=True)
        cold = count(arguments, 0, options.python, settings)
        few = count(arguments, options.few, options.python, settings)
        many = count(arguments, options.many, options.python, settings)
        rows.append((contender.name, cold, (many - few) / (options.many - options.few)))
    floor = {name: (cold, each) for name, cold, each in rows}.get(bench.FLOOR)
    print(
        f"Instructions (callgrind, PYTHONHASHSEED=0), HelloWorld echo, Python {version}: cold start to the "
        f"first /next, and per invocation from runs of {options.few} and {options.many}.\n"
    )
    print("| contender | cold start (M instructions) | vs floor | per invocation (instructions) | vs floor |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, cold, each in rows:
        cold_ratio = f"{cold / floor[0]:.2f}{bench.TIMES}" if floor else "n/a"
        each_ratio = f"{each / floor[1]:.2f}{bench.TIMES}" if floor else "n/a"
        print(f"| {name} | {cold / 1e6:.1f} | {cold_ratio} | {each:,.0f} | {each_ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
