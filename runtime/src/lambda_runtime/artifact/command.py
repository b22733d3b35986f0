"""``python -m lambda_runtime package``: one step from a project to the zip Lambda runs.

See docs/packaging.md for the two deployment models the zip serves.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .archive import Entry, entries_of, write_zip
from .bytecode import Bytecode, BytecodeError, compile_entries, find_compiler
from .container import render_dockerfile, render_dockerignore
from .dependencies import (
    ARCHITECTURES,
    DependencyError,
    Target,
    build_wheel,
    install,
    runtime_requirements,
    tidy_installation,
    unpack_wheel,
    wheel_metadata,
    wheel_requirements,
)
from .project import ProjectError, check_project, own_code
from .wrapper import BOOTSTRAP, BOOTSTRAP_MODE, BOOTSTRAP_NAME

DEFAULT_OUTPUT = Path("dist") / "function.zip"

DESCRIPTION = """\
Build the deployable zip of a function: its own code (the project's top-level modules and packages,
tests left out, plus whatever its wheel installs), its dependencies as wheels for the target
architecture and Python (lambda-runtime among them; path dependencies are built into wheels first),
and a `bootstrap` that starts lambda-runtime when set as AWS_LAMBDA_EXEC_WRAPPER on a managed
python3.12+ runtime. Every module is also compiled to bytecode for the target Python (sources kept),
by this interpreter if it is that version, else by a pythonX.Y on PATH; without one, or with
--no-compile, the zip has no bytecode. The same input gives the same bytes. --dockerfile also writes
the Dockerfile (and .dockerignore) of the container-image model, built from that zip. Needs pip, and
an index (PyPI) that has the dependencies' wheels.
"""


class PackageError(Exception):
    """The package cannot be built; the message says why, in one line."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lambda_runtime package", description=DESCRIPTION)
    parser.add_argument(
        "project", nargs="?", default=".", help="the project directory, with its pyproject.toml (default: .)"
    )
    parser.add_argument(
        "--arch", choices=ARCHITECTURES, default="x86_64", help="Lambda architecture (default: x86_64)"
    )
    parser.add_argument(
        "--python", default="3.13", help="CPython version of the Lambda runtime (default: 3.13)"
    )
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="ship no bytecode (.pyc): every cold start then compiles the modules it imports",
    )
    parser.add_argument("--output", help="where to write the zip (default: PROJECT/dist/function.zip)")
    parser.add_argument(
        "--dockerfile",
        action="store_true",
        help="also write PROJECT/Dockerfile and PROJECT/.dockerignore: a container image built from the zip",
    )
    parser.add_argument(
        "--handler", default="app.handler", help="the Dockerfile's CMD (default: app.handler)"
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="also pack these files (relative to PROJECT)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave these files of the function's code out",
    )
    parser.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="DIR",
        help="also look for wheels here (passed to pip)",
    )
    return parser


def main(arguments: Sequence[str]) -> int:
    options = parser().parse_args(list(arguments))
    try:
        target = Target(options.arch, options.python)
        project = check_project(Path(options.project))
        output = Path(options.output).resolve() if options.output else project / DEFAULT_OUTPUT
        if options.dockerfile and not output.is_relative_to(project):
            raise PackageError(
                "--dockerfile needs the zip inside the project directory: the image is built from there"
            )
        started = time.monotonic()
        entries, distributions = collect(
            project, target, options.include, options.exclude, options.find_links
        )
        bytecode = None
        if not options.no_compile:
            compiler = find_compiler(target.version)
            if compiler is None:
                sys.stderr.write(f"lambda-runtime package: {no_compiler(target)}\n")
            else:
                bytecode = compile_entries(entries, compiler)
                entries += bytecode.entries
        write_zip(entries, output)
        elapsed = time.monotonic() - started
    except (ValueError, ProjectError, DependencyError, PackageError, BytecodeError) as error:
        sys.stderr.write(f"lambda-runtime package: {error}\n")
        return 1
    report(project, target, entries, distributions, output, elapsed, bytecode)
    if options.dockerfile:
        zip_path = output.relative_to(project).as_posix()
        (project / "Dockerfile").write_text(render_dockerfile(zip_path, target, options.handler))
        (project / ".dockerignore").write_text(render_dockerignore(zip_path))
        print(f"Wrote {project / 'Dockerfile'} and .dockerignore (CMD {options.handler})")
    return 0


def collect(
    project: Path, target: Target, include: list[str], exclude: list[str], find_links: list[str]
) -> tuple[list[Entry], list[str]]:
    """Every entry of the zip, and the installed distributions as ``name version``."""
    with tempfile.TemporaryDirectory(prefix="lambda-runtime-package-") as work:
        work_dir = Path(work)
        print(f"Building {project.name} for {target.describe()}", flush=True)
        project_wheel = build_wheel(str(project), work_dir / "wheels", find_links)
        _, requires = wheel_metadata(project_wheel)
        requirements = wheel_requirements(runtime_requirements(requires), work_dir / "wheels", find_links)
        site = work_dir / "site"
        site.mkdir()
        install(requirements, site, target, find_links)
        tidy_installation(site)
        if not (site / "lambda_runtime" / "__init__.py").is_file():
            raise PackageError(
                f"{project.name} does not depend on lambda-runtime: add it to [project] dependencies, "
                "or the bootstrap has no runtime to start"
            )
        dependencies = entries_of(site)
        distributions = sorted(
            path.name.removesuffix(".dist-info").replace("-", " ", 1) for path in site.glob("*.dist-info")
        )
        wheel_code = work_dir / "own"
        wheel_code.mkdir()
        unpack_wheel(project_wheel, wheel_code)
        code = {entry.name: entry for entry in entries_of(wheel_code)}
        code.update({entry.name: entry for entry in own_code(project, include, exclude)})
    taken = {entry.name for entry in dependencies}
    clashes = sorted(name for name in code if name in taken or name == BOOTSTRAP_NAME)
    if clashes:
        raise PackageError(
            f"the function's files would replace a dependency's: {', '.join(clashes[:5])}; rename them"
        )
    bootstrap = Entry(BOOTSTRAP_NAME, BOOTSTRAP.encode(), BOOTSTRAP_MODE)
    return [*code.values(), *dependencies, bootstrap], distributions


def no_compiler(target: Target) -> str:
    """The one line saying the zip has no bytecode for want of an interpreter, and how to get it."""
    name = f"python{target.python}"
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return (
        f"no bytecode in the zip: it needs CPython {target.python} to compile it and there is no working "
        f"{name} on PATH (this is Python {here}), so cold starts will compile what they import; for "
        f"bytecode, install {name}, or build with --python {here} for a python{here} function, or use "
        "the container image (--dockerfile); --no-compile leaves it out on purpose"
    )


def report(
    project: Path,
    target: Target,
    entries: list[Entry],
    distributions: list[str],
    output: Path,
    elapsed: float,
    bytecode: Bytecode | None = None,
) -> None:
    """What went into the zip: its top-level entries (with file counts), the distributions, the
    bytecode, the size."""
    tops = Counter(entry.name.partition("/")[0] + ("/" if "/" in entry.name else "") for entry in entries)
    lines = [f"Packed {project.name} for {target.describe()} in {elapsed:.1f} s:"]
    for top in sorted(tops):
        lines.append(f"  {top}" + (f"  ({tops[top]} files)" if top.endswith("/") else ""))
    uncompressed = sum(len(entry.data) for entry in entries)
    lines.append(f"Distributions: {', '.join(distributions)}")
    if bytecode is None:
        lines.append("Bytecode: none")
    else:
        size = sum(len(entry.data) for entry in bytecode.entries)
        lines.append(
            f"Bytecode: {len(bytecode.entries)} modules compiled by {bytecode.compiler.executable} "
            f"({bytecode.compiler.cache_tag}, unchecked-hash .pyc, {_size(size)})"
        )
        if bytecode.failed:
            shown = ", ".join(bytecode.failed[:5]) + (", ..." if len(bytecode.failed) > 5 else "")
            lines.append(f"  {len(bytecode.failed)} did not compile and are shipped as source only: {shown}")
    lines.append(
        f"{len(entries)} files, {_size(uncompressed)} uncompressed -> {_shown(output)} "
        f"({_size(output.stat().st_size)})"
    )
    print("\n".join(lines), flush=True)


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
