"""Bytecode in the zip: every module compiled at build time for the target's Python.

A managed runtime unpacks the zip into ``/var/task``, which is read-only: without ``.pyc`` files
there, every cold start compiles every module it imports (the runtime, pydantic, the function's own
code) from source, in memory, and throws the result away. So the build compiles them, with an
interpreter of exactly the target's ``major.minor`` (bytecode is specific to it): the one running the
build when it is that version, else the first ``pythonX.Y`` on ``PATH`` that says so when run.

The ``.pyc`` files are what the import system looks for (``__pycache__/<name>.cpython-XY.pyc`` next
to each module) and are *unchecked-hash* ones (PEP 552): the import uses them without comparing them
with the source, so the zip's fixed timestamps (or whatever times the unpacking gives the files)
cannot make them stale. Their embedded source path is where the module lives on Lambda
(``/var/task/<path>``). The sources stay in the zip, for tracebacks and ``inspect``.

The bytes are reproducible: the compiler runs with ``PYTHONHASHSEED=0`` (CPython 3.10 marshals a
``frozenset`` constant, ``x in {"a", "b"}``, in hash order, which otherwise changes with every
process; 3.11 and later sort them), on the files in sorted order, with no ``PYTHON*`` variable of the
caller's environment (``PYTHONOPTIMIZE``, ``PYTHONWARNINGS=error``) changing what it writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .archive import Entry
from .container import TASK_ROOT

PROBE_TIMEOUT = 15.0
COMPILE_TIMEOUT = 600.0

# What a candidate interpreter runs to say which bytecode it writes: ``cpython-313`` names both the
# implementation and the version, as the ``.pyc`` file names do.
PROBE = "import sys; print(sys.implementation.cache_tag)"

# What the compiling interpreter runs: (source, pyc, path on Lambda) triples on stdin, as JSON; on
# stdout, the Lambda paths of the sources that did not compile. ``optimize=0`` because Lambda runs
# the interpreter without -O (an -O interpreter would look for ``.opt-1.pyc`` instead).
COMPILE = """\
import json, py_compile, sys
failed = []
for source, pyc, shown in json.load(sys.stdin):
    try:
        py_compile.compile(
            source, pyc, shown, doraise=True, optimize=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError:
        failed.append(shown)
json.dump(failed, sys.stdout)
"""


class BytecodeError(Exception):
    """The compiling interpreter failed: not a source that does not compile, the process itself."""


@dataclass(frozen=True)
class Compiler:
    """An interpreter that writes bytecode for the target: its path and its cache tag (``cpython-313``)."""

    executable: str
    cache_tag: str


@dataclass(frozen=True)
class Bytecode:
    """What compiling gave: the ``.pyc`` entries, the interpreter that wrote them, and the sources
    (zip paths) that did not compile and are shipped as source only."""

    compiler: Compiler
    entries: list[Entry]
    failed: list[str]


def cache_tag(version: tuple[int, int]) -> str:
    """The bytecode cache tag of CPython ``version``: ``cpython-313`` for (3, 13)."""
    return f"cpython-{version[0]}{version[1]}"


def pyc_name(source: str, tag: str) -> str:
    """Where the import system looks for the bytecode of ``source`` (a ``/``-separated ``.py`` path):
    ``pkg/__pycache__/mod.cpython-313.pyc`` for ``pkg/mod.py``."""
    directory, _, name = source.rpartition("/")
    cached = f"__pycache__/{name.removesuffix('.py')}.{tag}.pyc"
    return f"{directory}/{cached}" if directory else cached


def find_compiler(version: tuple[int, int], search_path: str | None = None) -> Compiler | None:
    """The interpreter that compiles for CPython ``version``: the one running this when it is that
    version, else the first ``pythonX.Y`` on ``search_path`` (default: ``$PATH``) that, run, says it
    is; None if there is none."""
    tag = cache_tag(version)
    if sys.implementation.cache_tag == tag and sys.executable:
        return Compiler(sys.executable, tag)
    return compiler_on_path(version, search_path)


def compiler_on_path(version: tuple[int, int], search_path: str | None = None) -> Compiler | None:
    """The first ``pythonX.Y`` on ``search_path`` (default: ``$PATH``) that is CPython ``version``.

    Each candidate is run, not trusted by its name: a pyenv shim of a version that is not selected
    is on ``PATH`` and fails, and a ``python3.13`` may be a link to another interpreter.
    """
    tag = cache_tag(version)
    name = f"python{version[0]}.{version[1]}"
    path = os.environ.get("PATH", os.defpath) if search_path is None else search_path
    tried: set[Path] = set()
    for directory in path.split(os.pathsep):
        candidate = Path(directory or os.curdir, name)
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        real = candidate.resolve()
        if real in tried:
            continue
        tried.add(real)
        if _probe(candidate) == tag:
            return Compiler(str(candidate), tag)
    return None


def _probe(executable: Path) -> str | None:
    try:
        finished = subprocess.run(
            [str(executable), "-S", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            env=compiler_environment(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return finished.stdout.strip() if finished.returncode == 0 else None


def compiler_environment() -> dict[str, str]:
    """The compiling interpreter's environment: the caller's, without its ``PYTHON*`` settings, and
    with a fixed hash seed. (Not ``-E``/``-I``: they would ignore ``PYTHONHASHSEED`` too.)"""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    environment["PYTHONHASHSEED"] = "0"
    return environment


def compile_entries(entries: list[Entry], compiler: Compiler) -> Bytecode:
    """The ``.pyc`` entries of every ``.py`` entry, compiled by ``compiler`` for ``/var/task``."""
    sources = sorted((entry for entry in entries if entry.name.endswith(".py")), key=lambda entry: entry.name)
    with tempfile.TemporaryDirectory(prefix="lambda-runtime-bytecode-") as work:
        root = Path(work)
        jobs = []
        for entry in sources:
            source = root / entry.name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(entry.data)
            jobs.append(
                (
                    str(source),
                    str(root / pyc_name(entry.name, compiler.cache_tag)),
                    f"{TASK_ROOT}/{entry.name}",
                )
            )
        try:
            finished = subprocess.run(
                [compiler.executable, "-S", "-c", COMPILE],
                input=json.dumps(jobs),
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=COMPILE_TIMEOUT,
                env=compiler_environment(),
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise BytecodeError(
                f"compiling the bytecode with {compiler.executable} failed: {error}"
            ) from None
        if finished.returncode != 0:
            lines = [line for line in finished.stderr.splitlines() if line.strip()]
            detail = lines[-1] if lines else f"exit status {finished.returncode}"
            raise BytecodeError(f"compiling the bytecode with {compiler.executable} failed: {detail}")
        failed = {shown.removeprefix(f"{TASK_ROOT}/") for shown in json.loads(finished.stdout)}
        compiled = [
            Entry(name, (root / name).read_bytes())
            for name in (
                pyc_name(entry.name, compiler.cache_tag) for entry in sources if entry.name not in failed
            )
        ]
    return Bytecode(compiler, compiled, sorted(failed))
