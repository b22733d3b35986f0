"""Init errors, in a real ``python -m lambda_runtime`` process: each goes to /runtime/init/error with the
type awslambdaric reports, no invocation is fetched, and the process exits 1 after one log line."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

import lambda_runtime
from lambda_runtime.testing import RuntimeAPIServer
from raw_api import unused_address

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunProcess

ERROR_TYPE_HEADER = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")

# id: (handler spec, source of app.py or None, errorType, text the errorMessage contains)
CASES = {
    "module-not-found": (
        "missing_module.handler",
        None,
        "Runtime.ImportModuleError",
        "Unable to import module 'missing_module': No module named 'missing_module'",
    ),
    "dependency-not-found": (
        "app.handler",
        "import not_installed_dependency\n",
        "Runtime.ImportModuleError",
        "No module named 'not_installed_dependency'",
    ),
    "handler-missing": (
        "app.handler",
        "def other(event, context):\n    pass\n",
        "Runtime.HandlerNotFound",
        "Handler 'handler' missing on module 'app'",
    ),
    "no-dot": ("app", "", "Runtime.MalformedHandlerName", "Bad handler 'app'"),
    "empty-attribute": ("app.", "", "Runtime.MalformedHandlerName", "Bad handler 'app.'"),
    "empty-module": (".handler", "", "Runtime.MalformedHandlerName", "Bad handler '.handler'"),
    "syntax-error": (
        "app.handler",
        "def handler(event, context)\n    return 1\n",
        "Runtime.UserCodeSyntaxError",
        "Syntax error in module 'app'",
    ),
    "exception-at-import": (
        "app.handler",
        "CONFIG = {}\nregion = CONFIG['region']\n",
        "Runtime.ImportModuleError",
        "KeyError: 'region'",
    ),
    "exit-at-import": ("app.handler", "import sys\nsys.exit(2)\n", "Runtime.ImportModuleError", "SystemExit"),
    "not-callable": ("app.handler", "handler = 42\n", "Runtime.HandlerNotCallable", "42"),
    "class-without-handle": (
        "app.handler",
        "class handler:\n    pass\n",
        "Runtime.HandlerNotCallable",
        "no handle(event, context) method",
    ),
    "class-init-fails": (
        "app.Handler",
        "class Handler:\n    def __init__(self):\n        raise OSError('no db')\n"
        "    def handle(self, event, context):\n        pass\n",
        "Runtime.HandlerInitError",
        "OSError: no db",
    ),
    "one-parameter": (
        "app.handler",
        "def handler(event):\n    pass\n",
        "Runtime.HandlerSignatureError",
        "cannot be called as handler(event, context)",
    ),
    "no-parameter": ("app.handler", "def handler():\n    pass\n", "Runtime.HandlerSignatureError", "handler"),
    "four-parameters": (
        "app.handler",
        "def handler(a, b, c, d):\n    pass\n",
        "Runtime.HandlerSignatureError",
        "handler",
    ),
    "method-with-one-parameter": (
        "app.Handler",
        "class Handler:\n    def handle(self, event):\n        pass\n",
        "Runtime.HandlerSignatureError",
        "Handler.handle",
    ),
}


@pytest.mark.parametrize(("spec", "source", "error_type", "message"), CASES.values(), ids=CASES.keys())
def test_init_errors_are_reported_and_the_process_exits_1(
    spec: str,
    source: str | None,
    error_type: str,
    message: str,
    tmp_path: Path,
    api: RuntimeAPIServer,
    run_process: RunProcess,
) -> None:
    if source is not None:
        (tmp_path / "app.py").write_text(textwrap.dedent(source))
    api.enqueue({})
    finished = run_process(spec, env={"AWS_LAMBDA_RUNTIME_API": api.address})
    assert finished.returncode == 1, finished.stdout + finished.stderr

    [init_error] = api.init_errors
    document = json.loads(init_error.body)
    assert document["errorType"] == error_type
    assert message in document["errorMessage"]
    assert isinstance(document["stackTrace"], list)
    assert init_error.error_type == error_type and ERROR_TYPE_HEADER.fullmatch(init_error.error_type)
    assert [(method, path) for method, path, _ in api.requests] == [
        ("POST", "/2018-06-01/runtime/init/error")
    ]
    assert api.requests[0][2]["user-agent"] == f"lambda-runtime-python/{lambda_runtime.__version__}"

    [line] = (finished.stdout + finished.stderr).rstrip("\n").split("\n")  # a CR does not end a record
    assert line.startswith("[CRITICAL]") and error_type in line


def test_an_exception_at_import_names_the_users_frames(
    tmp_path: Path, api: RuntimeAPIServer, run_process: RunProcess
) -> None:
    (tmp_path / "settings.py").write_text("def load():\n    raise ValueError('TABLE_NAME is not set')\n")
    (tmp_path / "app.py").write_text("import settings\nsettings.load()\n")
    finished = run_process("app.handler", env={"AWS_LAMBDA_RUNTIME_API": api.address})
    assert finished.returncode == 1
    stack = json.loads(api.init_errors[0].body)["stackTrace"]
    assert [re.search(r'File "[^"]*/(\w+\.py)"', frame).group(1) for frame in stack] == [
        "app.py",
        "settings.py",
    ]
    assert "lambda_runtime" not in "".join(stack)


def test_an_init_error_that_cannot_be_reported_still_exits_1(run_process: RunProcess) -> None:
    finished = run_process("missing.handler", env={"AWS_LAMBDA_RUNTIME_API": unused_address()})
    assert finished.returncode == 1
    assert "Traceback" not in finished.stdout + finished.stderr
    lines = (finished.stdout + finished.stderr).rstrip("\n").split("\n")
    assert len(lines) == 2
    assert "Runtime.ImportModuleError" in lines[0]
    assert "Could not report the init error" in lines[1]
