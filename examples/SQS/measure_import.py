"""Measure what each way of reading the SQS event adds to the function's cold start.

    python measure_import.py [--runs 31]

Each import runs in a fresh interpreter (``python -c``), as in a new Lambda execution environment, and
is timed inside it, around the ``import`` statement only (the interpreter's own start-up is left out).
Each case runs once untimed first, so that every case is measured with its bytecode written and the
files in the OS cache, then ``--runs`` times, interleaved with the other cases; the table shows the
median, the fastest and the slowest run, in milliseconds.

The cases, from the function's point of view:

* ``lambda_runtime``: what every function on this runtime pays;
* ``pydantic``: pydantic itself, before any model is defined;
* ``Powertools data classes``: ``import aws_lambda_powertools.utilities.data_classes`` alone, which
  loads Powertools' whole top-level package (its logger, its JMESPath helpers...) before the data
  classes;
* ``orders.py``: pydantic and the order and batch response models, which both variants use;
* ``app_pydantic.py``: the whole function with the event as pydantic models (no Powertools);
* ``app.py``: the whole function with the event as Powertools' ``SQSEvent``.

The last line is what choosing Powertools' classes over pydantic models costs in this function:
the median, round by round, of ``app.py`` minus ``app_pydantic.py``. It is less than Powertools' import
on its own, because much of what Powertools loads (``typing``, ``logging``, ``enum``, ``inspect``...)
pydantic loads anyway.

Run it from this directory, with the interpreter of the environment the example is installed in.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CASES = {
    "lambda_runtime": "import lambda_runtime",
    "pydantic": "from pydantic import BaseModel",
    "Powertools data classes": "import aws_lambda_powertools.utilities.data_classes",
    "orders.py (pydantic and 3 models)": "import orders",
    "app_pydantic.py (function, pydantic event)": "import app_pydantic",
    "app.py (function, Powertools event)": "import app",
}
POWERTOOLS_VARIANT = "app.py (function, Powertools event)"
PYDANTIC_VARIANT = "app_pydantic.py (function, pydantic event)"

# Runs in the fresh interpreter: prints how many seconds the statement took.
PROBE = "import time; start = time.perf_counter(); {statement}; print(time.perf_counter() - start)"


def time_import(statement: str) -> float:
    """Milliseconds that ``statement`` takes in a fresh interpreter started in this directory."""
    finished = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        cwd=HERE,
        # Bytecode is written and used, as for a package shipped with its __pycache__.
        env={name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(finished.stdout.strip()) * 1000


def measure(runs: int) -> dict[str, list[float]]:
    """Each case's import times, in milliseconds, ``runs`` of them after one untimed warm-up run.

    The runs are interleaved (one of each case per round), so that whatever else the machine is doing
    weighs on every case alike.
    """
    for statement in CASES.values():
        time_import(statement)  # warm-up: bytecode written, files in the OS cache
    timings: dict[str, list[float]] = {label: [] for label in CASES}
    for _ in range(runs):
        for label, statement in CASES.items():
            timings[label].append(time_import(statement))
    return timings


def machine() -> str:
    """A one-line description of where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return (
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {cpu}, "
        f"{os.cpu_count()} CPUs"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the table of import times."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=31, help="timed runs per case (default 31)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    timings = measure(args.runs)
    print(f"{machine()}; median of {args.runs} fresh interpreters per import")
    print()
    print(f"| {'import':<44} | median ms | min ms | max ms |")
    print(f"| {'-' * 44} | --------: | -----: | -----: |")
    for label, values in timings.items():
        print(
            f"| {label:<44} | {statistics.median(values):9.1f} | {min(values):6.1f} | {max(values):6.1f} |"
        )
    # Round by round, so that both variants of a difference saw the same machine.
    extra = [
        with_powertools - without
        for with_powertools, without in zip(
            timings[POWERTOOLS_VARIANT], timings[PYDANTIC_VARIANT], strict=True
        )
    ]
    print()
    print(
        "Powertools' event classes instead of pydantic models: "
        f"{statistics.median(extra):+.1f} ms (median)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
