"""The command line: ``python -m lambda_runtime module.handler``, as ``python -m awslambdaric`` takes it.

With no argument the handler comes from ``_HANDLER``, as Lambda sets it. The handler's directory
(``LAMBDA_TASK_ROOT`` on Lambda, else the working directory) is put first on ``sys.path``.
"""

from __future__ import annotations

import os
import sys

from ._version import __version__

USAGE = """\
usage: python -m lambda_runtime [MODULE.HANDLER]

Runs the handler against the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API.
MODULE.HANDLER defaults to $_HANDLER (as Lambda sets it), e.g. app.handler.

environment: AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, MAX_INVOCATIONS,
             AWS_LAMBDA_LOG_FORMAT (TEXT|JSON), AWS_LAMBDA_LOG_LEVEL or LOG_LEVEL
"""


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m lambda_runtime`` and the ``lambda-runtime`` script."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if arguments and arguments[0] == "--version":
        sys.stdout.write(f"lambda-runtime {__version__}\n")
        return 0
    if len(arguments) > 1 or (arguments and arguments[0].startswith("-")):
        sys.stderr.write(USAGE)
        return 2
    spec = arguments[0] if arguments else os.environ.get("_HANDLER", "")
    if not spec:
        sys.stderr.write("lambda-runtime: no handler: pass MODULE.HANDLER or set _HANDLER\n" + USAGE)
        return 2
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if task_root not in sys.path:
        sys.path.insert(0, task_root)

    from .runtime import LambdaRuntime

    LambdaRuntime(spec).run()
    return 0
