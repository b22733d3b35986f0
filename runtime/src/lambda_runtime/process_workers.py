"""``LambdaRuntime`` with ``AWS_LAMBDA_MAX_CONCURRENCY`` > 1: one process per worker.

This is what AWS's own Python runtime does on Lambda Managed Instances, and for the same reason: a
handler written for classic Lambda (module globals, caches, a client it reuses) sees one invocation at
a time, in a process of its own, and stays safe unchanged.

**Spawned, not forked.** Each worker is a fresh interpreter that runs the function's init itself (it
re-runs ``python -m lambda_runtime module.handler``, or the script that called ``run()``), as AWS's
runtime does. Forking after one init would share what init built, but what init builds is exactly what
does not survive a fork: threads (an SDK's or a telemetry exporter's) are gone in the child, a socket
opened at import would be shared by every worker, a lock held by another thread stays held forever;
CPython 3.12 warns about forking a threaded process for that reason. Spawning costs each worker its own
init (memory and time, in parallel), which is what Lambda's documentation tells Python users to expect.

**Init errors reach ``/runtime/init/error`` exactly once.** Workers do not report them: each tells the
supervisor (this process) over a socket pair that it is ready, or why it failed. The supervisor waits
for all of them before letting any fetch an invocation, so an environment never serves with fewer
workers than it announced; on the first failure it stops the others and posts that one error.

**Logs.** Each worker writes to pipes of its own; the supervisor is the only writer of the real stdout
and stderr and copies whole lines (``worker_output``), so lines from different workers never mix.

**Deaths and signals.** A worker that exits when it should not is reported in one log line, the others
are stopped, and the runtime exits 1. SIGTERM (and SIGINT) is forwarded to every worker; the supervisor
exits once they all have.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time

from .concurrency import worker_count
from .errors import InitError
from .protocol import Invocation, ProtocolError
from .runtime import WORKER_ENVIRONMENT_VARIABLE, LambdaRuntime, _log, _max_invocations
from .stop_signals import on_stop_signal
from .transport import RuntimeAPIError, RuntimeClient
from .worker_output import LineRelay

# The control messages on each worker's socket pair, one byte each (an init error carries a body).
READY = b"R"  # worker -> supervisor: init done, waiting for GO
INIT_ERROR = b"E"  # worker -> supervisor: init failed; a 4-byte length and JSON [type, message, stack]
WANT = b"N"  # worker -> supervisor: may I fetch one more invocation? (only under MAX_INVOCATIONS)
GO = b"G"  # supervisor -> worker: every worker is ready, start fetching
GRANTED = b"Y"  # supervisor -> worker: yes, fetch it
SPENT = b"S"  # supervisor -> worker: the budget is spent, exit

# How long the others get to stop, once one worker has died or init failed, before SIGKILL.
STOP_GRACE_SECONDS = 5.0


class _BudgetSpent(Exception):
    """The supervisor refused another invocation: MAX_INVOCATIONS is reached across all workers."""


# --- the worker's side ---------------------------------------------------------------------------------


def run_spawned_worker(runtime: LambdaRuntime) -> None:
    """Serve as worker N of the supervisor that spawned this process: init, wait for GO, loop."""
    _, fd_text, budgeted = os.environ.pop(WORKER_ENVIRONMENT_VARIABLE).split(",")
    control = socket.socket(fileno=int(fd_text))
    control.set_inheritable(False)  # the handler's own subprocesses must not hold it open
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # a pipe to the supervisor: flush each line
    client = RuntimeClient(address)

    def tell_supervisor(client: RuntimeClient, error_type: str, message: str, stack: list[str]) -> None:
        import json

        body = json.dumps([error_type, message, stack]).encode()
        control.sendall(INIT_ERROR + struct.pack(">I", len(body)) + body)

    def fetch_within_budget() -> Invocation:
        control.sendall(WANT)
        if control.recv(1) != GRANTED:
            raise _BudgetSpent
        return client.next()

    try:
        adapted = runtime._initialise(client, os.environ, report=tell_supervisor)
        control.sendall(READY)
        if control.recv(1) != GO:
            return  # the supervisor is stopping: another worker failed, or a signal came
        runtime._serve(client, adapted, None, fetch_within_budget if budgeted == "1" else None)
    except _BudgetSpent:
        return
    except (RuntimeAPIError, ProtocolError) as error:
        _log().critical("Stopping: %s", error)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    finally:
        client.close()
        control.close()


# --- the supervisor's side -----------------------------------------------------------------------------


def supervise_worker_processes(
    runtime: LambdaRuntime, address: str, concurrency: str, interrupted: int
) -> None:
    """Start ``AWS_LAMBDA_MAX_CONCURRENCY`` worker processes and watch them until they are all done."""
    client = RuntimeClient(address)  # connects only if there is an init error to post
    try:
        try:
            count = worker_count(concurrency)
            budget = _max_invocations(os.environ)
        except InitError as error:
            runtime._report_init_error(client, error.error_type, str(error), error.stack_trace)
            raise SystemExit(1) from None
        supervisor = _Supervisor(_worker_command(runtime), address, count, budget)
        restore_signals = on_stop_signal(supervisor.stop)
        try:
            code = supervisor.run()
        except KeyboardInterrupt:
            supervisor.stop(signal.SIGINT)
            supervisor.run()
            code = interrupted
        finally:
            restore_signals()
            supervisor.kill_all()
        if supervisor.init_error is not None:
            error_type, message, stack = supervisor.init_error
            runtime._report_init_error(client, error_type, message, stack)
        if code:
            raise SystemExit(code)
    finally:
        client.close()


def _worker_command(runtime: LambdaRuntime) -> list[str]:
    """How to start one more copy of this runtime.

    Under ``python -m lambda_runtime`` (``serve`` included) a worker is ``python -m lambda_runtime
    module.handler``. Otherwise the program is run again as it was started (``sys.orig_argv``): a
    script that ends in ``LambdaRuntime(handler).run()`` reaches that line again, and ``run()`` sees it
    is a worker.
    """
    main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    handler = runtime._handler
    if isinstance(handler, str) and getattr(main_spec, "name", "") == "lambda_runtime.__main__":
        return [sys.executable, "-m", "lambda_runtime", handler]
    return [sys.executable, *sys.orig_argv[1:]]


class _Worker:
    __slots__ = ("control", "index", "process", "ready", "received", "returncode")

    def __init__(self, index: int, process: subprocess.Popen[bytes], control: socket.socket) -> None:
        self.index = index
        self.process = process
        self.control = control
        self.ready = False
        self.received = bytearray()
        self.returncode: int | None = None


class _Supervisor:
    """Spawns the workers, relays their output, answers their control messages, reaps them."""

    def __init__(self, command: list[str], address: str, count: int, budget: int | None) -> None:
        self._command = command
        self._address = address
        self._count = count
        self._budget = budget
        self._workers: list[_Worker] = []
        self._selector = selectors.DefaultSelector()
        self._started = False
        self._stopping = False
        self._stop_deadline: float | None = None
        self.failed = False
        self.init_error: tuple[str, str, list[str]] | None = None

    # -- life cycle ----------------------------------------------------------------------------------

    def run(self) -> int:
        """Until every worker has exited: 0 when they finished or were told to stop, else 1."""
        if not self._workers:
            for index in range(self._count):
                self._spawn(index)
        selector = self._selector
        while selector.get_map():
            timeout = None
            if self._stop_deadline is not None:
                timeout = max(self._stop_deadline - time.monotonic(), 0.0)
                if timeout == 0.0:
                    self.kill_all()
                    timeout = 1.0
            for key, _ in selector.select(timeout):
                if isinstance(key.data, LineRelay):
                    if not key.data.pump():
                        selector.unregister(key.fd)
                        os.close(key.fd)
                else:
                    self._read_control(key.data)
        return 1 if self.failed or self.init_error is not None else 0

    def _spawn(self, index: int) -> None:
        ours, theirs = socket.socketpair()
        budgeted = "0" if self._budget is None else "1"
        environment = dict(os.environ)
        environment.pop("MAX_INVOCATIONS", None)  # the budget is the supervisor's to keep
        environment[WORKER_ENVIRONMENT_VARIABLE] = f"{index},{theirs.fileno()},{budgeted}"
        environment["AWS_LAMBDA_RUNTIME_API"] = self._address
        sys.stdout.flush()
        sys.stderr.flush()
        process = subprocess.Popen(
            self._command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(theirs.fileno(),),
            env=environment,
        )
        theirs.close()
        worker = _Worker(index, process, ours)
        self._workers.append(worker)
        self._selector.register(ours, selectors.EVENT_READ, worker)
        for pipe, target in ((process.stdout, sys.stdout), (process.stderr, sys.stderr)):
            assert pipe is not None
            fd = os.dup(pipe.fileno())
            pipe.close()
            self._selector.register(fd, selectors.EVENT_READ, LineRelay(fd, target.fileno()))

    def stop(self, number: int) -> None:
        """A stop signal: pass it on to every worker still running (called from a signal handler)."""
        self._stopping = True
        for worker in self._workers:
            if worker.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(number)

    def _stop_others(self) -> None:
        if self._stop_deadline is None:
            self._stop_deadline = time.monotonic() + STOP_GRACE_SECONDS
        self.stop(signal.SIGTERM)

    def kill_all(self) -> None:
        for worker in self._workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait(timeout=10)

    # -- control messages ----------------------------------------------------------------------------

    def _read_control(self, worker: _Worker) -> None:
        try:
            data = worker.control.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._selector.unregister(worker.control)
            worker.control.close()
            self._reap(worker)
            return
        worker.received += data
        received = worker.received
        while received:
            kind = received[:1]
            if kind == INIT_ERROR:
                if len(received) < 5:
                    return
                (length,) = struct.unpack(">I", received[1:5])
                if len(received) < 5 + length:
                    return
                body = bytes(received[5 : 5 + length])
                del received[: 5 + length]
                self._on_init_error(body)
                continue
            del received[:1]
            if kind == READY:
                worker.ready = True
                if not self._stopping and all(other.ready for other in self._workers):
                    self._started = True
                    for other in self._workers:
                        self._send(other, GO)
            elif kind == WANT:
                granted = not self._stopping and self._budget is not None and self._budget > 0
                if granted and self._budget is not None:
                    self._budget -= 1
                self._send(worker, GRANTED if granted else SPENT)

    def _on_init_error(self, body: bytes) -> None:
        import json

        if self.init_error is None:
            error_type, message, stack = json.loads(body)
            self.init_error = (str(error_type), str(message), [str(line) for line in stack])
            self._stop_others()

    @staticmethod
    def _send(worker: _Worker, message: bytes) -> None:
        with contextlib.suppress(OSError):  # the worker is gone: its end of file says so, _reap acts
            worker.control.sendall(message)

    def _reap(self, worker: _Worker) -> None:
        """The worker closed its control socket: it has exited (or is about to)."""
        try:
            worker.returncode = worker.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.returncode = worker.process.wait(timeout=10)
        if self._stopping or self.init_error is not None:
            return
        finished = worker.returncode == 0 and self._budget is not None and self._budget <= 0
        if finished and self._started:
            return
        if not self._started and not worker.ready:
            self.init_error = (
                "Runtime.ExitError",
                f"worker {worker.index + 1} of {self._count} exited during init ({_describe_exit(worker)}) "
                "without reporting an error",
                [],
            )
            self._stop_others()
            return
        self.failed = True
        _log().critical(
            "Worker %d of %d (pid %d) %s; stopping the runtime",
            worker.index + 1,
            self._count,
            worker.process.pid,
            _describe_exit(worker),
        )
        self._stop_others()


def _describe_exit(worker: _Worker) -> str:
    code = worker.returncode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"
