"""Streaming throughput: lambda-runtime against a raw-socket floor, in one run.

Each contender is a child process that answers every invocation of a mock Runtime API with a streamed
response: 64 MiB in 64 KiB writes (``bench_stream_handler.py`` under ``python -m lambda_runtime``; the
floor, ``bench_stream_floor.py``, sends the same chunks prebuilt over a raw socket). The mock reads the
chunked bodies without keeping them and times each one, from its ``/next`` answer to the body's last
byte. Reported, as medians of the runs: MB/s, the ratio to the floor, the child's resident memory while
idle (at its first ``GET /next``) and at its peak (``VmHWM``, read before its last response is
acknowledged), and the growth between the two. Targets: at least 0.8 times the floor's MB/s, growth < 8 MB.

awslambdaric has no contender here: the managed Python runtime cannot stream a response.

Standard library only; ``python scripts/bench_streaming.py --help`` lists the options.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import (
    ACCEPTED,
    FUNCTION_NAME,
    NOT_FOUND,
    SCRIPTS,
    ExitWatcher,
    LoopbackServer,
    compile_bytecode,
    log,
    next_reply,
    output_tail,
    request_id,
)

MIB = 1024 * 1024
MB = 1_000_000
SCRATCH_BYTES = 256 * 1024
MAX_LINE_BYTES = 8192

TARGET_THROUGHPUT_RATIO = 0.8  # of the floor's MB/s
TARGET_GROWTH_MB = 8.0  # peak RSS over idle RSS

NEXT_PATH = b"/2018-06-01/runtime/invocation/next"


@dataclass(frozen=True)
class Contender:
    key: str
    name: str
    arguments: list[str]
    is_ours: bool


FLOOR = Contender("floor", "floor", ["bench_stream_floor.py"], is_ours=False)
OURS = Contender(
    "cli", "lambda-runtime (CLI)", ["-m", "lambda_runtime", "bench_stream_handler.handler"], is_ours=True
)
CONTENDERS = (FLOOR, OURS)


def drain_chunked(sock: socket.socket, initial: bytes, scratch: bytearray) -> tuple[int, bytes]:
    """Read a chunked body to its end without keeping it: its size, and whatever followed it.

    Parses in place in ``scratch`` (no copy of the body), so the mock stays cheaper than any sender.
    """
    buffer: bytes | bytearray = initial
    available = len(initial)
    total = 0
    skip = 0  # chunk data (and its CRLF) still to pass over
    line = b""  # a size line or trailer line read in pieces
    in_trailers = False
    while True:
        position = 0
        while position < available:
            if skip:
                taken = min(skip, available - position)
                position += taken
                skip -= taken
                continue
            end = buffer.find(b"\n", position, available)
            if end < 0:
                line += bytes(buffer[position:available])
                position = available
                if len(line) > MAX_LINE_BYTES:
                    raise ValueError("a chunk size or trailer line over 8 KiB")
                continue
            line += bytes(buffer[position : end + 1])
            position = end + 1
            if in_trailers:
                if line == b"\r\n":
                    return total, bytes(buffer[position:available])
                line = b""
                continue
            size = int(line.split(b";", 1)[0].strip(), 16)
            line = b""
            if size == 0:
                in_trailers = True
            else:
                total += size
                skip = size + 2
        available = sock.recv_into(scratch)
        if not available:
            raise ConnectionError("the client closed the connection mid-body")
        buffer = scratch


def read_head(sock: socket.socket, pending: bytes) -> tuple[bytes, bytes] | None:
    """One request head (without its final blank line) and what followed it, or None at the end."""
    end = pending.find(b"\r\n\r\n")
    while end < 0:
        data = sock.recv(65536)
        if not data:
            return None
        pending += data
        end = pending.find(b"\r\n\r\n")
    return pending[:end], pending[end + 4 :]


def resident_kib(pid: int, field_name: bytes) -> int | None:
    """``VmRSS`` or ``VmHWM`` of a live process from /proc (Linux only)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(field_name + b":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@dataclass
class RunResult:
    contender: str
    run: int
    mb_per_second: float | None = None
    idle_rss_mib: float | None = None
    peak_rss_mib: float | None = None
    growth_mib: float | None = None
    mock_cpu_share: float | None = None  # of the timed wall time, the mock's connection thread's CPU
    failure: str | None = None
    durations: list[float] = field(default_factory=list)


class StreamingMock(LoopbackServer):
    """A Runtime API on 127.0.0.1 that serves ``invocations`` events and drains each streamed answer."""

    def __init__(self, invocations: int, stream_bytes: int, wake: threading.Event) -> None:
        self.invocations = invocations
        self.stream_bytes = stream_bytes
        self.child_pid = 0
        self.answered = 0
        self.durations: list[float] = []
        self.mock_cpu: list[float] = []
        self.idle_rss_kib: int | None = None
        self.peak_rss_kib: int | None = None
        self.problem: str | None = None
        self._wake = wake
        self._issued = 0
        self._sent_at = 0.0
        deadline_ms = int(time.time() * 1000) + 15 * 60 * 1000
        self._replies = [next_reply(index, b"{}", deadline_ms) for index in range(invocations)]
        super().__init__()

    def _fail(self, text: str) -> None:
        self.problem = self.problem or text
        self._wake.set()

    def _serve(self, connection: socket.socket) -> None:
        scratch = bytearray(SCRATCH_BYTES)
        pending = b""
        try:
            with connection:
                while not self._stopping.is_set():
                    request = read_head(connection, pending)
                    if request is None:
                        return
                    head, pending = request
                    method, path, _ = head.split(b" ", 2)
                    if method == b"GET" and path == NEXT_PATH:
                        self._next(connection)
                    elif method == b"POST" and path.endswith(b"/response"):
                        pending = self._response(connection, head, path, pending, scratch)
                    elif method == b"POST" and path.endswith(b"/error"):
                        self._fail(f"the function reported an error: {path.decode()}")
                        connection.sendall(ACCEPTED)
                    else:
                        self._fail(f"unexpected request {method.decode()} {path.decode()}")
                        connection.sendall(NOT_FOUND)
        except (OSError, ValueError) as error:
            if not self._stopping.is_set():
                self._fail(f"the mock's connection failed: {error!r}")

    def _next(self, connection: socket.socket) -> None:
        if self._issued == 0:
            self.idle_rss_kib = resident_kib(self.child_pid, b"VmRSS")
        if self._issued >= self.invocations:
            self._stopping.wait(30.0)  # held, like Lambda between invocations; the run is over
            return
        reply = self._replies[self._issued]
        self._issued += 1
        self._sent_at = time.perf_counter()
        connection.sendall(reply)

    def _response(
        self, connection: socket.socket, head: bytes, path: bytes, pending: bytes, scratch: bytearray
    ) -> bytes:
        expected = b"/2018-06-01/runtime/invocation/" + request_id(self._issued - 1) + b"/response"
        lowered = head.lower()
        if path != expected:
            self._fail(f"a response to {path.decode()}, expected {expected.decode()}")
        if b"\r\nlambda-runtime-function-response-mode: streaming" not in lowered:
            self._fail("a response without Lambda-Runtime-Function-Response-Mode: streaming")
        if b"\r\ntransfer-encoding: chunked" not in lowered:
            self._fail("a streamed response that is not chunked")
        cpu_start = time.thread_time()
        size, rest = drain_chunked(connection, pending, scratch)
        ended = time.perf_counter()
        self.mock_cpu.append(time.thread_time() - cpu_start)
        self.durations.append(ended - self._sent_at)
        if size != self.stream_bytes:
            self._fail(f"a streamed body of {size} bytes, expected {self.stream_bytes}")
        if self.answered + 1 == self.invocations:
            self.peak_rss_kib = resident_kib(self.child_pid, b"VmHWM")
        connection.sendall(ACCEPTED)
        self.answered += 1
        if self.answered == self.invocations:
            self._wake.set()
        return rest


@dataclass(frozen=True)
class Settings:
    python: str
    invocations: int
    warmup: int
    stream_bytes: int
    write_bytes: int
    timeout: float


def environment(address: str, settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": address,
            "LAMBDA_TASK_ROOT": str(SCRIPTS),
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": "us-east-1",
            "MAX_INVOCATIONS": str(settings.invocations),
            "BENCH_STREAM_BYTES": str(settings.stream_bytes),
            "BENCH_WRITE_BYTES": str(settings.write_bytes),
        }
    )
    return env


def run_once(contender: Contender, settings: Settings, run: int) -> RunResult:
    """Spawn the contender against a fresh mock; wait (bounded) until it has answered and exited."""
    result = RunResult(contender.name, run)
    wake = threading.Event()
    mock = StreamingMock(settings.invocations, settings.stream_bytes, wake)
    try:
        with tempfile.TemporaryFile() as output:
            child = subprocess.Popen(
                [settings.python, *contender.arguments],
                cwd=SCRIPTS,
                env=environment(mock.address, settings),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            mock.child_pid = child.pid
            watcher = ExitWatcher(child.pid, wake)
            if not wake.wait(settings.timeout):
                result.failure = f"timed out after {mock.answered} of {settings.invocations} invocations"
            elif mock.problem:
                result.failure = mock.problem
            elif mock.answered < settings.invocations:
                result.failure = f"exited with status {watcher.status} after {mock.answered} invocations"
            elif not watcher.join(10.0):
                result.failure = "did not exit within 10 s of its last invocation"
            elif watcher.status != 0:
                result.failure = f"exited with status {watcher.status}"
            watcher.stop()
            child.returncode = watcher.status
            if result.failure:
                result.failure += output_tail(output)
                return result
    finally:
        mock.stop()
    timed = mock.durations[settings.warmup :]
    result.durations = timed
    result.mb_per_second = len(timed) * settings.stream_bytes / sum(timed) / MB
    result.mock_cpu_share = sum(mock.mock_cpu[settings.warmup :]) / sum(timed)
    if mock.idle_rss_kib is not None and mock.peak_rss_kib is not None:
        result.idle_rss_mib = mock.idle_rss_kib / 1024
        result.peak_rss_mib = mock.peak_rss_kib / 1024
        result.growth_mib = result.peak_rss_mib - result.idle_rss_mib
    return result


def median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per contender, medians reported (5)")
    parser.add_argument("--invocations", type=int, default=5, help="streamed responses per run (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed responses at the start of a run (1)")
    parser.add_argument("--stream-mib", type=int, default=64, help="MiB per streamed response (64)")
    parser.add_argument("--write-kib", type=int, default=64, help="KiB per write (64)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the contenders")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one run may take (120)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the raw results here")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args(argv)
    if args.invocations <= args.warmup or args.warmup < 0 or args.runs < 1:
        parser.error("need --runs >= 1 and --invocations > --warmup >= 0")
    settings = Settings(
        args.python, args.invocations, args.warmup, args.stream_mib * MIB, args.write_kib * 1024, args.timeout
    )
    modules = ["lambda_runtime", "bench_stream_handler", "bench_stream_floor", "bench_floor"]
    compile_bytecode(args.python, modules)
    log(
        f"streaming: {args.stream_mib} MiB per response in {args.write_kib} KiB writes, {args.invocations} "
        f"responses ({args.warmup} warm-up) x {args.runs} runs with {args.python}; awslambdaric cannot stream"
    )
    results: dict[str, list[RunResult]] = {contender.name: [] for contender in CONTENDERS}
    for run in range(1, args.runs + 1):
        order = CONTENDERS if run % 2 else tuple(reversed(CONTENDERS))
        for contender in order:
            result = run_once(contender, settings, run)
            results[contender.name].append(result)
            if result.failure:
                log(f"run {run}/{args.runs} {contender.name}: FAILED: {result.failure}")
            else:
                log(
                    f"run {run}/{args.runs} {contender.name}: {result.mb_per_second:.0f} MB/s, "
                    f"RSS idle {number(result.idle_rss_mib)} MiB, peak {number(result.peak_rss_mib)} MiB, "
                    f"mock CPU {100 * (result.mock_cpu_share or 0):.0f}%"
                )

    summary: dict[str, dict[str, float | None]] = {}
    for name, runs in results.items():
        good = [result for result in runs if not result.failure]
        summary[name] = {
            "mb_per_second": median([result.mb_per_second for result in good]),
            "idle_rss_mib": median([result.idle_rss_mib for result in good]),
            "peak_rss_mib": median([result.peak_rss_mib for result in good]),
            "growth_mib": median([result.growth_mib for result in good]),
            "mock_cpu_share": median([result.mock_cpu_share for result in good]),
            "failed_runs": float(len(runs) - len(good)),
        }
    floor = summary[FLOOR.name]["mb_per_second"]
    # Runs of one round are adjacent in time, so their ratio shrugs off a machine that drifts.
    round_ratios = [
        ours.mb_per_second / base.mb_per_second
        for base, ours in zip(results[FLOOR.name], results[OURS.name], strict=True)
        if ours.mb_per_second and base.mb_per_second
    ]
    print(
        f"Streaming: {args.stream_mib} MiB per response in {args.write_kib} KiB writes, median of "
        f"{args.runs} runs of {args.invocations - args.warmup} timed responses; Python "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs.\n"
    )
    print("| contender | MB/s | vs floor | idle RSS MiB | peak RSS MiB | growth MiB | mock CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, row in summary.items():
        throughput = row["mb_per_second"]
        versus = f"{throughput / floor:.2f}\N{MULTIPLICATION SIGN}" if throughput and floor else "n/a"
        share = row["mock_cpu_share"]
        print(
            f"| {name} | {number(throughput, 0)} | {versus} | {number(row['idle_rss_mib'])} | "
            f"{number(row['peak_rss_mib'])} | {number(row['growth_mib'])} | "
            f"{'n/a' if share is None else f'{100 * share:.0f}%'} |"
        )
    print("| awslambdaric | cannot stream | | | | | |")

    ours = summary[OURS.name]
    checks: list[tuple[str, bool | None]] = []
    throughput_ratio = ours["mb_per_second"] / floor if ours["mb_per_second"] and floor else None
    checks.append(
        (
            f"throughput >= {TARGET_THROUGHPUT_RATIO}x floor: {number(throughput_ratio, 2)}x",
            None if throughput_ratio is None else throughput_ratio >= TARGET_THROUGHPUT_RATIO,
        )
    )
    growth_mb = ours["growth_mib"] * MIB / MB if ours["growth_mib"] is not None else None
    checks.append(
        (
            f"peak RSS growth < {TARGET_GROWTH_MB:.0f} MB: {number(growth_mb)} MB",
            None if growth_mb is None else growth_mb < TARGET_GROWTH_MB,
        )
    )
    lines = [f"{'SKIP' if ok is None else 'PASS' if ok else 'FAIL'}  {text}" for text, ok in checks]
    lines.append(
        "per-round throughput ratio (each round's runs side by side): "
        f"median {number(median(round_ratios), 2)}x, "
        f"range {number(min(round_ratios, default=None), 2)}-{number(max(round_ratios, default=None), 2)}x"
    )
    lines.append(
        "mock CPU: the mock's CPU time while draining a body, as a share of that body's wall time "
        "(near 100% would mean the mock, not the contender, sets the pace)"
    )
    print("\n```text\n" + "\n".join(lines) + "\n```")
    if args.json:
        document = {
            "settings": asdict(settings),
            "summary": summary,
            "round_ratios": round_ratios,
            "runs": {name: [asdict(result) for result in runs] for name, runs in results.items()},
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    if args.check and any(ok is not True for _, ok in checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
