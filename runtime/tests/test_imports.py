"""Cold start: importing the package, and serving a handler, load only what is needed. Checked in fresh
processes, where sys.modules shows exactly what was imported."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import serve_one_event
from lambda_runtime.artifact.wrapper import START
from lambda_runtime.testing import run_function

# Each of these costs milliseconds of cold start and has no business on the path to the first /next.
# ``socket`` and ``re`` too: the runtime speaks through ``_socket`` and decodes JSON with ``_json``.
HEAVY = ("asyncio", "http.client", "email", "ssl", "logging", "json", "re", "socket", "typing", "inspect")


def loaded_after(code: str) -> set[str]:
    """The modules of HEAVY and of lambda_runtime that are loaded after running ``code`` in a fresh
    interpreter."""
    probe = (
        f"{code}\nimport sys\n"
        "print(' '.join(name for name in sys.modules if name.startswith('lambda_runtime') or name in "
        f"{HEAVY!r}))"
    )
    finished = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=20, check=False
    )
    assert finished.returncode == 0, finished.stderr
    return set(finished.stdout.split())


def test_importing_the_package_loads_nothing_heavy() -> None:
    loaded = loaded_after("import lambda_runtime")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "lambda_runtime" in loaded


def test_the_public_names_the_loop_needs_load_nothing_heavy() -> None:
    loaded = loaded_after(
        "from lambda_runtime import LambdaRuntime, LambdaContext, ResponseStream, current_context, protocol"
    )
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_testing_helpers_and_the_handler_protocol_are_loaded_lazily() -> None:
    loaded = loaded_after("import lambda_runtime")
    assert {"lambda_runtime.testing", "lambda_runtime.handler_protocol", "lambda_runtime.logs"}.isdisjoint(
        loaded
    )
    loaded = loaded_after("import lambda_runtime\nlambda_runtime.LambdaHandler")
    assert "lambda_runtime.handler_protocol" in loaded
    assert "lambda_runtime.testing" not in loaded


def test_lazy_names_resolve_and_unknown_names_raise() -> None:
    import lambda_runtime
    from lambda_runtime import errors, handler_protocol

    assert lambda_runtime.LambdaHandler is handler_protocol.LambdaHandler
    assert lambda_runtime.MarshalError is errors.MarshalError
    for name in lambda_runtime.__all__:
        assert getattr(lambda_runtime, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        lambda_runtime.Nope  # noqa: B018


def test_a_class_handler_satisfies_the_handler_protocol() -> None:
    from lambda_runtime import LambdaHandler

    class Handler:
        def handle(self, event: object, context: object) -> object:
            return event

    assert isinstance(Handler(), LambdaHandler)
    assert not isinstance(object(), LambdaHandler)


REPORTS_MODULES = f"""
import sys

HEAVY = {HEAVY!r}

def loaded():
    return sorted(name for name in HEAVY if name in sys.modules)
"""

HANDLERS = {
    "plain-json": ("def handler(event, context):\n    return loaded()\n", []),
    "raw-bytes": (
        "def handler(event: bytes, context) -> bytes:\n    return ' '.join(loaded()).encode()\n",
        [],
    ),
    "async-def": ("async def handler(event, context):\n    return loaded()\n", ["asyncio"]),
}


@pytest.mark.parametrize(("source", "expected"), HANDLERS.values(), ids=HANDLERS.keys())
def test_serving_a_handler_loads_only_what_it_needs(source: str, expected: list[str], tmp_path: Path) -> None:
    """asyncio only for async handlers, logging only when something logs; JSON handlers need neither
    ``json`` nor ``re`` (the codec drives ``_json``), and nothing needs ``socket``."""
    (tmp_path / "probe.py").write_text(REPORTS_MODULES + source)
    [result] = run_function("probe.handler", [{}], cwd=tmp_path, timeout=20)
    assert not result.is_error, result.body
    loaded = result.body.decode().split() if result.body[:1] != b"[" else result.json()
    # What the needed modules import themselves (asyncio brings inspect, ssl, typing...) is needed too.
    needed = loaded_after(f"import {', '.join(expected)}") & set(HEAVY) if expected else set()
    assert set(loaded) == needed


# What serving a plain JSON handler loads of the package: every module on the path to the first /next
# is a few hundred microseconds of cold start. The command line's development side (cli) and the error
# classes (errors) load only when asked for or raised.
COLD_PATH = {
    "lambda_runtime",
    "lambda_runtime.context",
    "lambda_runtime.handlers",
    "lambda_runtime.protocol",
    "lambda_runtime.runtime",
    "lambda_runtime.transport",
}


PROBE_LOADED = (
    "import sys\n"
    "LOADED = sorted(name for name in sys.modules if name.startswith('lambda_runtime'))\n"
    "def handler(event, context):\n"
    "    return LOADED + sorted(name for name in sys.modules if name == 'lambda_runtime.errors')\n"
)


@pytest.mark.parametrize("command", [["-m", "lambda_runtime"], ["-c", START]], ids=["cli", "bootstrap"])
def test_serving_a_handler_loads_only_the_cold_path_modules(command: list[str], tmp_path: Path) -> None:
    """``python -m lambda_runtime`` and the zip's bootstrap load the same few modules, up to the first
    invocation and during it."""
    (tmp_path / "probe.py").write_text(PROBE_LOADED)
    finished, api = serve_one_event(command, "probe.handler", tmp_path)
    assert finished.returncode == 0, finished.stderr
    [result] = api.results.values()
    assert result.json() == sorted(COLD_PATH)


@pytest.mark.parametrize("command", [["-m", "lambda_runtime"], ["-c", START]], ids=["cli", "bootstrap"])
def test_an_init_error_still_gets_its_error_type(command: list[str], tmp_path: Path) -> None:
    """The error classes load when init fails, and the init error is reported with its own type."""
    (tmp_path / "probe.py").write_text("def handler(event, context):\n    return 1\n")
    finished, api = serve_one_event(command, "probe.missing", tmp_path)
    assert finished.returncode == 1, finished.stderr
    [init_error] = api.init_errors
    assert init_error.error_type == "Runtime.HandlerNotFound"
    assert init_error.json()["errorMessage"] == "Handler 'missing' missing on module 'probe'"


def test_the_lifecycle_extra_costs_nothing_when_unused(tmp_path: Path) -> None:
    """No hook registered and no LAMBDA_SHUTDOWN_EXTENSION: neither the extra nor signal is loaded, and
    SIGTERM keeps its default meaning (see test_graceful_shutdown.py)."""
    (tmp_path / "probe.py").write_text(
        "import sys\n"
        "def handler(event, context):\n"
        "    return sorted(name for name in ('lambda_runtime.lifecycle', 'signal', 'threading')"
        " if name in sys.modules)\n"
    )
    [result] = run_function("probe.handler", [{}], cwd=tmp_path, timeout=20)
    assert result.json() == []
    env = {"LAMBDA_SHUTDOWN_EXTENSION": "1"}
    [result] = run_function("probe.handler", [{}], cwd=tmp_path, timeout=20, env=env)
    assert result.json() == ["lambda_runtime.lifecycle", "signal", "threading"]


def test_init_sets_its_objects_aside_from_the_collector(tmp_path: Path) -> None:
    """Automatic collection is paused while the handler is imported and adapted, everything init made is
    then frozen (gc.freeze), and collection is on again for the invocations."""
    (tmp_path / "probe.py").write_text(
        "import gc\n"
        "made_at_import = [[] for _ in range(1000)]\n"
        "threshold_at_import = gc.get_threshold()[0]\n"
        "def handler(event, context):\n"
        "    return [threshold_at_import, gc.get_threshold()[0], gc.isenabled(), gc.get_freeze_count()]\n"
    )
    [result] = run_function("probe.handler", [{}], cwd=tmp_path, timeout=20)
    threshold_at_import, threshold_in_invocation, enabled, frozen = result.json()
    assert (threshold_at_import, enabled) == (0, True)
    assert threshold_in_invocation > 0
    assert frozen > 1000


DEFAULT_THRESHOLD = -1  # stands for the interpreter's own default threshold


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("gc.disable()", [False, DEFAULT_THRESHOLD, False]),
        ("gc.set_threshold(5000, 20, 30)", [True, 5000, True]),
    ],
    ids=["disabled", "own-thresholds"],
)
def test_the_functions_own_collector_settings_stand(
    setting: str, expected: list[object], tmp_path: Path
) -> None:
    """A function that turns the collector off keeps its own objects out of any freeze (what Python made
    before the function's code ran may be set aside: see the next test)."""
    (tmp_path / "probe.py").write_text(
        f"import gc\n{setting}\n"
        "MADE_AT_IMPORT = []\n"
        "def handler(event, context):\n"
        "    frozen = not any(thing is MADE_AT_IMPORT for thing in gc.get_objects())\n"
        "    return [gc.isenabled(), gc.get_threshold()[0], frozen]\n"
    )
    [result] = run_function("probe.handler", [{}], cwd=tmp_path, timeout=20)
    if expected[1] == DEFAULT_THRESHOLD:
        expected[1] = gc.get_threshold()[0]  # the interpreter's default (700 up to 3.12, 2000 in 3.13)
    assert result.json() == expected


FREEZE_COUNT_AT_IMPORT = (
    "import gc\nAT_IMPORT = gc.get_freeze_count()\ndef handler(event, context):\n    return AT_IMPORT\n"
)


@pytest.mark.parametrize("command", [["-m", "lambda_runtime"], ["-c", START]], ids=["cli", "bootstrap"])
def test_python_m_sets_startups_objects_aside_before_the_package_loads(
    command: list[str], tmp_path: Path
) -> None:
    """Under ``python -m`` the objects the interpreter and runpy made are frozen before the package loads
    (or a full collection scans them all during the CLI's cold start); ``-c`` has no runpy to pay for."""
    (tmp_path / "probe.py").write_text(FREEZE_COUNT_AT_IMPORT)
    finished, api = serve_one_event(command, "probe.handler", tmp_path)
    assert finished.returncode == 0, finished.stderr
    [result] = api.results.values()
    assert (result.json() > 0) == (command[0] == "-m")


def test_importing_the_package_as_a_library_freezes_nothing() -> None:
    code = "import gc, lambda_runtime\nprint(gc.get_freeze_count())"
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "0"
