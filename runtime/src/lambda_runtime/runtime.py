"""``LambdaRuntime``: init, the invocation loop, and error reporting.

The loop is the hot path: GET /next, build the context, call the handler, POST the result. Everything
that can be decided once (the handler's shape, the codec, the function's environment) is decided
before the first /next; logging is loaded only when a record is actually written.
"""

import gc
import os
import sys

from . import protocol
from .context import FunctionInfo, LambdaContext, current_context
from .handlers import AdaptedHandler, adapt
from .protocol import Invocation, ProtocolError
from .transport import RejectedResponse, RuntimeAPIError, RuntimeClient, StaleInvocation

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, TypeVar

    from .lifecycle import Lifecycle
    from .local import LocalConfig

    Hook = TypeVar("Hook", bound=Callable[[], Any])
    ReportInitError = Callable[[RuntimeClient, str, str, list[str]], None]

# Set (by the parent) in each process of a runtime that runs one process per worker.
WORKER_ENVIRONMENT_VARIABLE = "_LAMBDA_RUNTIME_WORKER"


class _InstallLogsOnImport:
    """A one-shot import hook: the moment anything imports ``logging``, the runtime's handler goes on.

    Importing ``logging`` costs tens of milliseconds, so the runtime does not do it for a function that
    never logs; but a function that imports it late (inside its first invocation, say) must still get
    its records formatted, with the request id, from the first one.
    """

    def find_spec(self, name: str, path: "Any" = None, target: "Any" = None) -> "Any":
        if name != "logging":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(name, path, target) if find_spec is not None else None
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        execute = spec.loader.exec_module

        def exec_module(module: "Any") -> None:
            execute(module)
            if f"{__package__}.logs" in sys.modules:
                return  # the runtime's own logs module is the importer: it installs the handler itself
            from .logs import install

            install()

        spec.loader.exec_module = exec_module
        return spec


def _watch_for_logging() -> None:
    """Install the log handler now if ``logging`` is loaded, else as soon as something loads it."""
    if "logging" in sys.modules:
        _log()
    elif not any(isinstance(finder, _InstallLogsOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _InstallLogsOnImport())


def _log() -> "logging.Logger":
    from .logs import runtime_logger

    return runtime_logger()


LOCAL_EXTRA_MISSING = (
    "lambda-runtime: the local server needs the 'local' extra: pip install \"lambda-runtime[local]\"\n"
)


def main(argv: "list[str] | None" = None) -> int:
    """Entry point of ``python -m lambda_runtime`` and of the deploy zip's bootstrap: serve
    ``MODULE.HANDLER`` (the one argument, or ``$_HANDLER``) as ``python -m awslambdaric`` does.

    Any other command line (``--help``, ``serve``, ``package``...) goes to :mod:`lambda_runtime.cli`,
    loaded only then: the cold start of a function does not pay for the development commands.
    """
    arguments = sys.argv[1:] if argv is None else argv
    spec = arguments[0] if arguments else os.environ.get("_HANDLER", "")
    if len(arguments) > 1 or "." not in spec or spec.startswith("-"):
        from .cli import main as command_line

        return command_line(arguments)
    serve_handler(spec)
    return 0


def serve_handler(spec: str) -> None:
    """Serve the handler named ``spec`` (``module.function``), found in the function's directory."""
    add_task_root()
    runtime_class()(spec).run()


def add_task_root() -> None:
    """Put the function's directory (``LAMBDA_TASK_ROOT`` on Lambda, else the working directory) first
    on ``sys.path``, where its handler module is imported from."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if task_root not in sys.path:
        sys.path.insert(0, task_root)


def runtime_class() -> "type[LambdaRuntime]":
    """``LambdaRuntime``, or ``LambdaManagedRuntime`` when ``LAMBDA_MANAGED_RUNTIME=1`` asks for workers
    that share one process (see docs/managed-instances.md)."""
    if os.environ.get("LAMBDA_MANAGED_RUNTIME", "").strip() == "1":
        from .managed import LambdaManagedRuntime

        return LambdaManagedRuntime
    return LambdaRuntime


def local_package() -> "ModuleType":
    """``lambda_runtime.local``; without h11 (the ``local`` extra), one line on stderr and exit 1."""
    try:
        from . import local
    except ImportError as error:
        if error.name != "h11":
            raise
        sys.stderr.write(LOCAL_EXTRA_MISSING)
        raise SystemExit(1) from None
    return local


def client_for_run(address: str) -> RuntimeClient:
    """The process's client for ``address``, with stdout made ready for Lambda; a malformed address
    ends the process with one line."""
    if sys.stdout.isatty() is False and hasattr(sys.stdout, "reconfigure"):
        # Lambda reads stdout through a pipe: without this, prints would sit in a buffer.
        sys.stdout.reconfigure(line_buffering=True)
    try:
        return RuntimeClient(address)
    except ValueError as error:
        sys.stderr.write(f"lambda-runtime: {error}\n")
        raise SystemExit(1) from None


def _max_invocations(environ: os._Environ[str] | dict[str, str]) -> int | None:
    text = environ.get("MAX_INVOCATIONS", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        from .errors import InitError

        raise InitError(
            "Runtime.InvalidConfiguration", f"MAX_INVOCATIONS must be a positive integer, got {text!r}"
        )
    return int(text)


class LambdaRuntime:
    """Runs a handler against the Lambda Runtime API until Lambda stops the process.

    ``handler`` is a function ``(event, context)``, an ``async def`` function, a class or object with
    ``handle(event, context)``, or a ``"module.function"`` string (loaded during init, so that an import
    failure is reported to Lambda as an init error). Only one runtime may exist in a process.

    A handler ``(event, stream, context)`` streams its response through a :class:`ResponseStream`;
    ``max_stream_bytes`` caps each streamed response (Lambda's own limit, 200 MB, by default).

    ``event_type`` and ``output_type`` type a handler that has no annotations (the ``json`` extra):
    any type a pydantic ``TypeAdapter`` accepts. Annotations such as ``def handler(event: Order,
    context) -> Receipt`` do the same without them.

    ``runtime_api`` overrides ``AWS_LAMBDA_RUNTIME_API`` (``host:port``).
    """

    _claimed = False
    # Set during init when the lifecycle extra is in use (see _start_lifecycle); None costs the loop nothing.
    _lifecycle: "Lifecycle | None" = None

    def __init__(
        self,
        handler: object,
        *,
        runtime_api: str | None = None,
        max_stream_bytes: int = protocol.MAX_STREAMED_RESPONSE_BYTES,
        event_type: "Any" = None,
        output_type: "Any" = None,
    ) -> None:
        if LambdaRuntime._claimed:
            from .errors import AlreadyRunningError

            raise AlreadyRunningError(
                "a LambdaRuntime already exists in this process: create one, and call run() once"
            )
        LambdaRuntime._claimed = True
        self._handler = handler
        self._runtime_api = runtime_api
        self._max_stream_bytes = max_stream_bytes
        self._event_type = event_type
        self._output_type = output_type

    def on_init(self, hook: "Hook") -> "Hook":
        """Run ``hook()`` (sync or ``async``) once during init, before the first invocation; a decorator.

        See :func:`lambda_runtime.lifecycle.on_init` (the ``lifecycle`` extra).
        """
        from .lifecycle import on_init

        return on_init(hook)

    def on_shutdown(self, hook: "Hook") -> "Hook":
        """Run ``hook()`` (sync or ``async``) when the runtime stops on SIGTERM, SIGINT or
        ``MAX_INVOCATIONS``, within the shutdown budget (500 ms by default); a decorator.

        See :func:`lambda_runtime.lifecycle.on_shutdown` (the ``lifecycle`` extra). On Lambda, SIGTERM
        arrives only when an extension is registered: set ``LAMBDA_SHUTDOWN_EXTENSION=1``.
        """
        from .lifecycle import on_shutdown

        return on_shutdown(hook)

    def run(self) -> None:
        """Serve invocations until ``MAX_INVOCATIONS`` is reached or the Runtime API goes away.

        Outside Lambda (no ``AWS_LAMBDA_RUNTIME_API``) it starts a local server in this process and
        serves the function through it until Ctrl-C: see :mod:`lambda_runtime.local` (the ``local``
        extra).

        Fatal conditions (the Runtime API answering 500, the connection lost, an init error) end the
        process through ``SystemExit(1)`` after one log line; there is no traceback to wade through.
        """
        try:
            if WORKER_ENVIRONMENT_VARIABLE in os.environ:
                self._run_as_spawned_worker()
            else:
                self._run()
        finally:
            LambdaRuntime._claimed = False

    def _run_with_local_server(self, config: "LocalConfig | None" = None) -> None:
        """:meth:`run`, against a local server started in this process (``serve_function``)."""
        try:
            if WORKER_ENVIRONMENT_VARIABLE in os.environ:
                self._run_as_spawned_worker()
            else:
                self._run_locally(config)
        finally:
            LambdaRuntime._claimed = False

    def _run_as_spawned_worker(self) -> None:
        """This process is one worker of a runtime with ``AWS_LAMBDA_MAX_CONCURRENCY`` > 1."""
        from .process_workers import run_spawned_worker

        run_spawned_worker(self)

    def _run_workers(self, address: str, concurrency: str, interrupted: int) -> None:
        """``AWS_LAMBDA_MAX_CONCURRENCY`` > 1: one process per worker, each a single-worker runtime, so
        a handler written for classic Lambda (module globals, caches) stays safe unchanged."""
        from .process_workers import supervise_worker_processes

        supervise_worker_processes(self, address, concurrency, interrupted)

    def _run(self) -> None:
        address = self._runtime_api or os.environ.get("AWS_LAMBDA_RUNTIME_API")
        if not address:
            # Outside Lambda: serve the function through a local server, as the original does.
            self._run_locally(None)
            return
        self._run_at(address)

    def _run_locally(self, config: "LocalConfig | None") -> None:
        """Start the local server on a thread, serve it until Ctrl-C (exit 0) or MAX_INVOCATIONS."""
        local = local_package()
        try:
            server = local.LocalServer(config)
            server.start()
        except (ValueError, OSError) as error:
            sys.stderr.write(f"lambda-runtime: cannot start the local server: {error}\n")
            raise SystemExit(1) from None
        try:
            self._run_at(server.address, interrupted=0)
        finally:
            # A second Ctrl-C cuts the wait short: the server's thread is a daemon, it goes with the process.
            import contextlib  # here: on Lambda this path never runs, and start-up should not pay for it

            with contextlib.suppress(KeyboardInterrupt):
                server.stop()

    def _run_at(self, address: str, interrupted: int = 130) -> None:
        environ = os.environ
        concurrency = environ.get("AWS_LAMBDA_MAX_CONCURRENCY")
        if concurrency and concurrency.strip() != "1":
            self._run_workers(address, concurrency, interrupted)
            return
        client = client_for_run(address)
        try:
            adapted = self._initialise(client, environ)
            self._serve(client, adapted, _max_invocations(environ))
        except (RuntimeAPIError, ProtocolError) as error:
            _log().critical("Stopping: %s", error)
            raise SystemExit(1) from None
        except KeyboardInterrupt:
            raise SystemExit(interrupted) from None
        except BaseException as error:
            if isinstance(error, (Exception, SystemExit)):
                raise
            # The handler raised another BaseException (GeneratorExit, CancelledError, its own), already
            # reported as the invocation's error. Such exceptions are not meant to be caught: the process
            # ends, cleanly, rather than carrying on in whatever state raised it.
            _log().critical("Stopping: the handler raised %s, which ends the process", type(error).__name__)
            raise SystemExit(1) from None
        finally:
            client.close()

    def _initialise(
        self, client: RuntimeClient, environ: os._Environ[str], report: "ReportInitError | None" = None
    ) -> AdaptedHandler:
        """Load and adapt the handler; an init error is reported (``report``: to the Runtime API unless
        told otherwise) and ends the process with ``SystemExit(1)``."""
        report = report or self._report_init_error
        _watch_for_logging()  # before the handler's module runs: it may log while it is imported
        # What init makes (the handler's modules, their classes and globals, the codec) lives as long as the
        # process: the cyclic collector's passes over it while it is imported are wasted, and so would be
        # every later pass. Automatic collection is paused during init (a zero threshold, which leaves
        # gc.disable() and gc.enable() to the function's own code) and, once init is done, all of it is set
        # aside (gc.freeze()), so that collections during invocations look only at what invocations make.
        thresholds = gc.get_threshold()
        paused = (0, *thresholds[1:])
        gc.set_threshold(*paused)
        try:
            _max_invocations(environ)
            handler = self._handler
            if isinstance(handler, str):
                from .handlers import load_handler

                handler = load_handler(handler)
            adapted = adapt(handler, self._event_type, self._output_type)
            # The handler's module has been imported: it may have registered lifecycle hooks.
            if f"{__package__}.lifecycle" in sys.modules or environ.get("LAMBDA_SHUTDOWN_EXTENSION"):
                self._start_lifecycle(client.address)
        except Exception as error:
            report(client, *_init_failure(error))
            raise SystemExit(1) from None
        finally:
            if gc.get_threshold() == paused:  # else the function's code has set its own
                gc.set_threshold(*thresholds)
        if gc.isenabled():
            gc.freeze()
        return adapted

    def _start_lifecycle(self, address: str) -> None:
        from . import lifecycle

        try:
            self._lifecycle = lifecycle.start(address)
        except ValueError as error:
            from .errors import InitError

            raise InitError("Runtime.InvalidConfiguration", str(error)) from None

    @staticmethod
    def _report_init_error(client: RuntimeClient, error_type: str, message: str, stack: list[str]) -> None:
        _log().critical("Init error: %s: %s%s", error_type, message, _format_stack(stack))
        body = protocol.error_body(error_type, message, stack)
        try:
            client.post_init_error(error_type, body)
        except (RuntimeAPIError, ProtocolError, RejectedResponse, StaleInvocation) as error:
            _log().critical("Could not report the init error to the Runtime API: %s", error)

    def _serve(
        self,
        client: RuntimeClient,
        adapted: AdaptedHandler,
        max_invocations: int | None,
        fetch: "Callable[[], Invocation] | None" = None,
    ) -> None:
        """The single-worker loop (``fetch`` replaces ``client.next``: a process worker's shared budget)."""
        function = FunctionInfo()
        environ = os.environ
        export_trace_id = trace_id_exporter(environ)
        set_context = current_context.set
        from_invocation = LambdaContext.from_invocation
        next_invocation = fetch or client.next
        lifecycle = self._lifecycle
        if lifecycle is not None:
            # Checks for a stop request before each /next, and cuts a waiting /next short on SIGTERM.
            next_invocation = lifecycle.guard_next(next_invocation)
        invoke = self._invoke_streaming if adapted.streaming else self._invoke_buffered
        trace_events = self._trace_events(environ)
        served = 0
        while max_invocations is None or served < max_invocations:
            invocation = next_invocation()
            served += 1
            context = from_invocation(invocation, function)
            set_context(context)
            export_trace_id(invocation.trace_id)
            if trace_events:
                _log().log(5, "Event: %r", invocation.event[: protocol.MAX_BUFFERED_RESPONSE_BYTES])
            invoke(client, adapted, invocation, context)
            # Records logged between invocations (and the runtime's own last words) belong to none.
            set_context(None)
        if lifecycle is not None:
            lifecycle.shut_down()

    def _invoke_buffered(
        self, client: RuntimeClient, adapted: AdaptedHandler, invocation: Invocation, context: LambdaContext
    ) -> None:
        try:
            body = adapted.invoke(invocation.event, context)
            if len(body) > protocol.MAX_BUFFERED_RESPONSE_BYTES:
                from .errors import ResponseSizeTooLarge

                raise ResponseSizeTooLarge(
                    f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                    f"({protocol.MAX_BUFFERED_RESPONSE_BYTES} bytes)."
                )
        except BaseException as error:
            self._report_error(client, invocation, error)
            if not isinstance(error, Exception):
                raise
            return
        try:
            client.post_response(invocation, body)
        except StaleInvocation:
            log_stale(invocation, "response")
        except RejectedResponse as rejection:
            self._report_rejection(client, invocation, rejection)

    def _invoke_streaming(
        self, client: RuntimeClient, adapted: AdaptedHandler, invocation: Invocation, context: LambdaContext
    ) -> None:
        from .streaming import ResponseStream  # loaded for streaming handlers only

        stream = ResponseStream(client, invocation, self._max_stream_bytes)
        try:
            adapted.invoke_stream(invocation.event, stream, context)
            stream.finish()
        except (RuntimeAPIError, ProtocolError):
            raise
        except StaleInvocation:
            log_stale(invocation, "stream")
        except RejectedResponse as rejection:
            self._report_rejection(client, invocation, rejection)
        except BaseException as error:
            if stream.finished:
                # The caller already has the whole response: the error can only be logged.
                _describe_and_log(error, " (raised after the response stream was finished)")
            elif stream.started:
                error_type, message, stack = _describe_and_log(error)
                body = protocol.error_body(
                    error_type, message, stack, invocation.request_id, protocol.MAX_TRAILER_ERROR_BODY_BYTES
                )
                try:
                    stream.fail(error_type, body)
                except StaleInvocation:
                    log_stale(invocation, "failed stream")
                except RejectedResponse as rejection:
                    self._report_rejection(client, invocation, rejection)
            else:
                self._report_error(client, invocation, error)
            if not isinstance(error, Exception):
                raise

    @staticmethod
    def _trace_events(environ: os._Environ[str]) -> bool:
        level = (environ.get("AWS_LAMBDA_LOG_LEVEL") or environ.get("LOG_LEVEL") or "").strip().upper()
        return level == "TRACE"

    def _report_error(self, client: RuntimeClient, invocation: Invocation, error: BaseException) -> None:
        """Log the handler's error and post it to ``/error``."""
        error_type, message, stack = _describe_and_log(error)
        body = protocol.error_body(error_type, message, stack, invocation.request_id)
        self._post_error(client, invocation, error_type, body, message)

    @staticmethod
    def _post_error(
        client: RuntimeClient, invocation: Invocation, error_type: str, body: bytes, message: str
    ) -> None:
        """Post an error; if it is refused as too large (413), post it once more, cut to a few KB."""
        try:
            client.post_error(invocation, error_type, body)
        except StaleInvocation:
            log_stale(invocation, "error report")
        except RejectedResponse as refusal:
            shortened = shortened_error_body(invocation, error_type, message, refusal)
            if shortened is None:
                return
            try:
                client.post_error(invocation, error_type, shortened)
            except (StaleInvocation, RejectedResponse) as again:
                log_refused_again(again)

    def _report_rejection(
        self, client: RuntimeClient, invocation: Invocation, rejection: RejectedResponse
    ) -> None:
        """A refused response (413 too large, 400) still owes Lambda an answer: send an error instead."""
        error_type, message, body = rejection_error(invocation, rejection)
        self._post_error(client, invocation, error_type, body, message)


# What follows decides how an error is reported when the Runtime API refuses a post; the blocking loop
# above and the asyncio loop (task_workers.py) both call it, so that they cannot answer differently.


def rejection_error(invocation: Invocation, rejection: RejectedResponse) -> tuple[str, str, bytes]:
    """The error to post for an invocation whose response the Runtime API refused, logged: its errorType
    (a 413 says the response was too large), errorMessage and body."""
    error_type = "Function.ResponseSizeTooLarge" if rejection.status == 413 else "Runtime.ResponseRejected"
    message = f"The Runtime API refused the response with {rejection.status}: {rejection.body[:200]!r}"
    _log().error("%s: %s", error_type, message)
    return error_type, message, protocol.error_body(error_type, message, (), invocation.request_id)


def shortened_error_body(
    invocation: Invocation, error_type: str, message: str, refusal: RejectedResponse
) -> bytes | None:
    """Log a refused error post; the body to post once more instead (cut to 4 KB) if it was refused as
    too large (413), else None: sent again, it would be refused again."""
    _log().error("The Runtime API refused the error report: %s", refusal)
    if refusal.status != 413:
        return None
    # A refused post was not taken: a smaller one is still the invocation's only answer.
    return protocol.error_body(error_type, message[:1000], (), invocation.request_id, 4096)


def log_refused_again(refusal: StaleInvocation | RejectedResponse) -> None:
    """Log that the shortened error post was refused too: the invocation is left without an answer."""
    _log().error("The Runtime API refused the shortened error report too: %s", refusal)


# How many trace ids go through os.putenv before the C environment's variable is rewritten in place
# instead (see c_environment.py): glibc keeps a copy of each, ~150 bytes, for good.
IN_PLACE_AFTER = 1000


def trace_id_exporter(
    environ: os._Environ[str], in_place_after: int | None = None
) -> "Callable[[str | None], None]":
    """What sets ``_X_AMZN_TRACE_ID`` to each invocation's trace id (or removes it), as awslambdaric does:
    the X-Ray SDK reads it there, and subprocesses inherit it.

    On POSIX, it writes what ``environ[name] = value`` writes (the C environment, and the mapping's bytes)
    without the three Python-level calls that take per write. After ``in_place_after`` values, the C
    environment's copy is one buffer rewritten in place: ``os.putenv`` would keep growing the process
    by each value it was ever given.
    """
    name = "_X_AMZN_TRACE_ID"
    data = getattr(environ, "_data", None)
    if os.name != "posix" or type(environ) is not os._Environ or type(data) is not dict:

        def export_portably(trace_id: str | None) -> None:
            if trace_id is not None:
                environ[name] = trace_id
            elif name in environ:
                del environ[name]

        return export_portably
    key = name.encode()
    encoding = sys.getfilesystemencoding()
    putenv, unsetenv = os.putenv, os.unsetenv
    left = IN_PLACE_AFTER if in_place_after is None else in_place_after

    def putenv_plainly(value: bytes) -> None:
        putenv(key, value)
        data[key] = value

    put: Callable[[bytes], None] = putenv_plainly

    def putenv_then_in_place(value: bytes) -> None:
        nonlocal left, put
        putenv_plainly(value)
        left -= 1
        if left <= 0:
            from .c_environment import in_place_setter

            put = in_place_setter(key, data) or putenv_plainly

    put = putenv_then_in_place

    def export(trace_id: str | None) -> None:
        if trace_id is not None:
            value = trace_id.encode(encoding, "surrogateescape")
            # An int: CPython 3.11 looks for a bytes operand of `in` only after failing to read it as
            # one, and that failure (a TypeError made and dropped) cost more than the rest of this call.
            if 0 in value:  # no C string can hold a NUL (os.putenv refuses it): the mapping alone
                data[key] = value
            else:
                put(value)
        elif key in data:
            unsetenv(key)
            del data[key]

    return export


def log_stale(invocation: Invocation, what: str) -> None:
    """Log a 410 Gone: the invocation had already timed out, and Lambda dropped the ``what`` posted for it."""
    _log().warning(
        "The Runtime API answered 410 Gone: invocation %s had already timed out, its %s was dropped",
        invocation.request_id,
        what,
    )


def _describe_and_log(error: BaseException, note: str = "") -> tuple[str, str, list[str]]:
    """The errorType, errorMessage and user stack trace of ``error``, logged as one record."""
    from .errors import LambdaRuntimeError
    from .handlers import user_stack_trace

    error_type = error.error_type if isinstance(error, LambdaRuntimeError) else type(error).__name__
    try:
        message = str(error)
    except Exception:  # an exception whose __str__ fails must still be reported
        message = f"<unprintable {type(error).__name__}>"
    stack = user_stack_trace(error)
    _log().error("%s: %s%s%s", error_type, message, note, _format_stack(stack))
    return error_type, message, stack


def _init_failure(error: Exception) -> tuple[str, str, list[str]]:
    """The errorType, errorMessage and stack trace that report ``error``, raised during init."""
    from .errors import InitError
    from .handlers import user_stack_trace

    if isinstance(error, InitError):
        return error.error_type, str(error), error.stack_trace
    return type(error).__name__, str(error), user_stack_trace(error)


def _format_stack(stack: list[str]) -> str:
    if not stack:
        return ""
    return "\nTraceback (most recent call last):\n" + "".join(stack).rstrip("\n")
