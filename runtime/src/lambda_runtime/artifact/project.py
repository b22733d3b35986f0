"""Which files of a project are the function's own code.

Lambda imports the handler from the function's directory (``app.handler`` is ``app.py`` in
``/var/task``), so the code is what lies at the top of the project directory: its Python modules
(``*.py``) and its packages (directories with an ``__init__.py``, everything in them but bytecode
caches). Left out: tests (``tests/``, ``test/``, ``test_*.py``, ``*_test.py``, ``conftest.py``),
``noxfile.py``, ``setup.py``, and every directory that is not a package (``events/``, ``dist/``,
virtual environments, caches). Whatever the project's own wheel installs (a ``src/`` layout's
package) is added separately, from the wheel. ``include`` and ``exclude`` (glob patterns relative to
the project) adjust the selection.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

from .archive import Entry, entries_of

NOT_CODE_MODULES = frozenset({"conftest.py", "noxfile.py", "setup.py"})
NOT_CODE_PACKAGES = frozenset({"tests", "test", "dist", "build"})


class ProjectError(Exception):
    """The directory is not a project this command can package."""


def check_project(directory: Path) -> Path:
    """``directory`` resolved, if it is a Python project (it has a ``pyproject.toml``)."""
    resolved = directory.resolve()
    if not resolved.is_dir():
        raise ProjectError(f"{directory} is not a directory")
    if not (resolved / "pyproject.toml").is_file():
        raise ProjectError(f"{directory} has no pyproject.toml: pass the directory of a Python project")
    return resolved


def is_test_module(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name in NOT_CODE_MODULES


def own_code(project: Path, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Entry]:
    """The function's own files in ``project``, as zip entries named relative to it."""
    entries: list[Entry] = []
    for path in sorted(project.iterdir()):
        name = path.name
        if name.startswith("."):
            continue
        if path.is_file() and name.endswith(".py") and not is_test_module(name):
            entries.append(Entry(name, path.read_bytes()))
        elif path.is_dir() and (path / "__init__.py").is_file() and name not in NOT_CODE_PACKAGES:
            entries += [
                Entry(f"{name}/{entry.name}", entry.data, entry.mode)
                for entry in entries_of(path)
                if not any(part.startswith(".") for part in entry.name.split("/"))
            ]
    chosen = {entry.name for entry in entries}
    for pattern in include:
        matches = [path for path in sorted(project.glob(pattern)) if path.is_file()]
        if not matches:
            raise ProjectError(f"--include {pattern!r} matches no file in {project}")
        for path in matches:
            name = path.relative_to(project).as_posix()
            if name not in chosen:
                chosen.add(name)
                entries.append(Entry(name, path.read_bytes()))
    return [
        entry for entry in entries if not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in exclude)
    ]
