"""The command line's development side: ``--help``, ``--version``, ``serve``, ``invoke``, ``package``
and ``init``, loaded only when one of them is asked for.

Serving a handler (``python -m lambda_runtime module.handler``, or ``$_HANDLER`` with no argument, as
``python -m awslambdaric`` takes it) is :func:`lambda_runtime.runtime.main`'s job, on the cold-start
path; it hands any other command line to :func:`main` here.
"""

import os
import sys

from . import __version__

USAGE = """\
usage: python -m lambda_runtime [MODULE.HANDLER]
       python -m lambda_runtime serve [MODULE.HANDLER] [--host HOST] [--port PORT]
       python -m lambda_runtime serve --api-only [--host HOST] [--port PORT]
       python -m lambda_runtime invoke [--data JSON | --file F] [--stream] [...]
       python -m lambda_runtime package [PROJECT_DIR] [--arch x86_64|arm64] [--python 3.13] [...]
       python -m lambda_runtime init NAME --from EXAMPLE

Runs the handler against the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API; without it (outside
Lambda), through a local server: POST events to http://127.0.0.1:7000/invoke.
MODULE.HANDLER defaults to $_HANDLER (as Lambda sets it), e.g. app.handler.
`serve` always uses the local server; `serve --api-only` serves only the Runtime API (and /invoke)
for a runtime in another process. The local server needs the 'local' extra (h11).
`invoke` sends one event to a running local server; `package` builds the deployable zip
(PROJECT_DIR/dist/function.zip); `init` starts a new project from an example. Each takes --help.

environment: AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, MAX_INVOCATIONS,
             AWS_LAMBDA_LOG_FORMAT (TEXT|JSON), AWS_LAMBDA_LOG_LEVEL or LOG_LEVEL,
             LOCAL_LAMBDA_HOST, LOCAL_LAMBDA_PORT, LOCAL_LAMBDA_INVOCATION_ENDPOINT,
             LOCAL_LAMBDA_TIMEOUT, AWS_LAMBDA_MAX_CONCURRENCY,
             LAMBDA_MANAGED_RUNTIME=1 (workers share this process: LambdaManagedRuntime)
"""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lambda-runtime`` script, and of ``python -m lambda_runtime`` for any command
    line but a handler's (:func:`lambda_runtime.runtime.main` serves those)."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if arguments and arguments[0] == "--version":
        sys.stdout.write(f"lambda-runtime {__version__}\n")
        return 0
    if arguments and arguments[0] == "serve":
        return _serve(arguments[1:])
    if arguments and arguments[0] in _COMMANDS:
        return _command(arguments[0], arguments[1:])
    if len(arguments) > 1 or (arguments and arguments[0].startswith("-")):
        sys.stderr.write(USAGE)
        return 2
    spec = arguments[0] if arguments else os.environ.get("_HANDLER", "")
    if not spec:
        sys.stderr.write("lambda-runtime: no handler: pass MODULE.HANDLER or set _HANDLER\n" + USAGE)
        return 2
    from .runtime import serve_handler

    serve_handler(spec)
    return 0


# The development commands, each in its own module, imported only when its command runs.
_COMMANDS = {"package": ".artifact.command", "init": ".scaffold", "invoke": ".invoke_command"}


def _command(name: str, arguments: list[str]) -> int:
    import importlib

    module = importlib.import_module(_COMMANDS[name], __package__)
    result: int = module.main(arguments)
    return result


def _serve(arguments: list[str]) -> int:
    """``serve [MODULE.HANDLER] [--api-only] [--host HOST] [--port PORT]``: the local server."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m lambda_runtime serve",
        description="Serve a function locally: POST events to the invocation endpoint (/invoke).",
    )
    parser.add_argument(
        "handler", nargs="?", help="MODULE.HANDLER to serve in this process (default: $_HANDLER)"
    )
    parser.add_argument(
        "--api-only",
        action="store_true",
        help="serve only the Runtime API and /invoke, for a runtime in another process "
        "(prints the AWS_LAMBDA_RUNTIME_API value to give it)",
    )
    parser.add_argument("--host", help="address to listen on (default: $LOCAL_LAMBDA_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: $LOCAL_LAMBDA_PORT or 7000)")
    options = parser.parse_args(arguments)
    if options.api_only and options.handler:
        parser.error("--api-only serves no handler: run the function in its own process")
    spec = options.handler or os.environ.get("_HANDLER", "")
    if not options.api_only and not spec:
        parser.error("no handler: pass MODULE.HANDLER, set _HANDLER, or use --api-only")

    from .runtime import add_task_root, local_package, runtime_class

    local = local_package()
    try:
        config = local.LocalConfig.from_environment(host=options.host, port=options.port)
    except ValueError as error:
        sys.stderr.write(f"lambda-runtime: {error}\n")
        return 2
    if options.api_only:
        try:
            local.serve_runtime_api(config)
        except OSError as error:
            sys.stderr.write(f"lambda-runtime: cannot start the local server: {error}\n")
            return 1
        return 0
    add_task_root()
    runtime_class()(spec)._run_with_local_server(config)
    return 0
