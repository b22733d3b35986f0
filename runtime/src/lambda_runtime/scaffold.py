"""``python -m lambda_runtime init NAME --from EXAMPLE``: a new project, copied from an example.

The copy is an independent project: the path dependency on the runtime's source tree becomes a
version range of this release series (``lambda-runtime>=0.1,<0.2``), with the comments and settings
that only the path needed; the project, its SAM resources and its README title take the new name.
Everything else (code, tests, events) is copied as it is, so the example's tests pass in the copy.

The examples come with the lambda-runtime repository, not with the installed package: they are found
next to the package in a checkout, in ``--examples-dir``, or in ``$LAMBDA_RUNTIME_EXAMPLES``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__

DESCRIPTION = """\
Start a new function project from one of lambda-runtime's examples: copy it into NAME (a new
directory), take lambda-runtime from your package index by version range instead of the repository's
source tree, and rename the project, its SAM resources and its README title after NAME.
"""
# Never copied: local state of a working copy.
IGNORED = shutil.ignore_patterns(
    ".venv*",
    "venv",
    ".nox",
    "dist",
    "build",
    "__pycache__",
    "*.py[cod]",
    "*.egg-info",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".aws-sam",
    "Dockerfile",
    ".dockerignore",
    "response.json",
)
_PATH_DEPENDENCY = re.compile(r'"lambda-runtime(?P<extras>\[[^\]]*\])?\s*@\s*\{root:[^}]*\}/runtime"')
# Comment lines that only explain the path dependency, or how to replace it when copying out.
_PATH_COMMENTS = re.compile(
    r"Inside the lambda-runtime repository|WHEN YOU COPY|^\s*#\s+\"lambda-runtime[^\"]*\",?\s*$"
    r"|\(The \[tool\.hatch\.metadata\] table|^\s*#\s*\(and the `local` extra below"
    r"|^\s*#\s*\[tool\.hatch\.metadata\] table below"
    r"|RUF200 parses|until the build fills it in|with the path dependency when copying out"
    r"|first hatchling that understands the `{root"
)
_COPY_OUT_SENTENCE = re.compile(r"\s*When copied out, replace[^:]*:\s*$")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


class ScaffoldError(Exception):
    """The project cannot be created; the message says why."""


def version_range(version: str = __version__) -> str:
    """The releases compatible with ``version``: the same minor series before 1.0, the same major after."""
    major, minor = (int(part) for part in version.split(".")[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else str(major + 1)
    return f">={major}.{minor},<{upper}"


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_. ]+", name) if part)


def examples_directory(explicit: str | None) -> Path:
    candidates = [explicit, os.environ.get("LAMBDA_RUNTIME_EXAMPLES")]
    for candidate in candidates:
        if candidate:
            path = Path(candidate)
            if not path.is_dir():
                raise ScaffoldError(f"{path} is not a directory of examples")
            return path
    checkout = Path(__file__).resolve().parents[3] / "examples"  # runtime/src/lambda_runtime/ -> repo
    if checkout.is_dir():
        return checkout
    raise ScaffoldError(
        "the examples come with the lambda-runtime repository, not with the installed package: clone it "
        "and pass --examples-dir path/to/lambda-runtime/examples (or set LAMBDA_RUNTIME_EXAMPLES)"
    )


def known_examples(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if (path / "pyproject.toml").is_file())


def independent_pyproject(text: str, project_name: str, example: str) -> str:
    """The example's pyproject.toml as a project of its own (see the module's docstring)."""
    dependency_range = version_range()
    text = _PATH_DEPENDENCY.sub(lambda m: f'"lambda-runtime{m["extras"] or ""}{dependency_range}"', text)
    lines = []
    skipping_table = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == "[tool.hatch.metadata]":
            skipping_table = True
            continue
        if skipping_table:
            if stripped.startswith("["):
                skipping_table = False
            else:
                continue
        if _PATH_COMMENTS.search(line) or stripped == '"pyproject.toml" = ["RUF200"]':
            continue
        if stripped.startswith("#") and _COPY_OUT_SENTENCE.search(line):
            line = _COPY_OUT_SENTENCE.sub("", line.rstrip("\n")) + "\n"
        lines.append(line)
    text = "".join(lines)
    text = re.sub(r'(?m)^name\s*=\s*"[^"]*"', f'name = "{project_name}"', text, count=1)
    text = re.sub(rf"(?m)^# {re.escape(example)}:", f"# {project_name}:", text, count=1)
    text = re.sub(
        rf'(?m)^(description\s*=\s*"){re.escape(example)} example',
        rf"\g<1>{project_name} (from the lambda-runtime {example} example)",
        text,
        count=1,
    )
    return re.sub(r"\n{3,}", "\n\n", text)


def renamed_template(text: str, example: str, pascal: str) -> str:
    """The SAM template with the example's name replaced in resource names, outputs and descriptions."""
    name = re.escape(example)
    text = re.sub(rf"(?:the )?(?:lambda-runtime )?(?<![A-Za-z0-9]){name} example", pascal, text)
    return re.sub(rf"(?<![A-Za-z0-9]){name}", pascal, text)


def renamed_readme(text: str, example: str, project_name: str, pascal: str) -> str:
    """The README with the new title, a line saying where it came from, and the SAM names renamed
    outside code blocks (code blocks are excerpts of the code, kept as they are)."""
    parts = re.split(r"(?ms)(^```.*?^```$)", text)
    for index in range(0, len(parts), 2):
        parts[index] = re.sub(rf"(?<![A-Za-z0-9/]){re.escape(example)}(?=[A-Z])", pascal, parts[index])
    text = "".join(parts)
    note = (
        f"# {project_name}\n\nStarted from the lambda-runtime `{example}` example with "
        f"`python -m lambda_runtime init`; it takes `lambda-runtime{version_range()}` from your package "
        "index.\n"
    )
    title = re.match(r"# [^\n]*\n", text)
    return note + (text[title.end() :] if title else "\n" + text)


def create(name: str, example: str, examples: Path) -> Path:
    destination = Path(name)
    project_name = destination.name.lower().replace("_", "-")
    if not _NAME.fullmatch(destination.name):
        raise ScaffoldError(
            f"{destination.name!r} is not a usable project name: use letters, digits, - and _"
        )
    known = known_examples(examples)
    if example not in known:
        raise ScaffoldError(f"unknown example {example!r}; the examples are: {', '.join(known)}")
    if destination.exists():
        raise ScaffoldError(f"{destination} already exists: choose a new directory")
    source = examples / example
    shutil.copytree(source, destination, ignore=IGNORED)
    pascal = pascal_case(destination.name)
    pyproject = destination / "pyproject.toml"
    pyproject.write_text(
        independent_pyproject(pyproject.read_text(encoding="utf-8"), project_name, example), encoding="utf-8"
    )
    template = destination / "template.yaml"
    if template.is_file():
        template.write_text(
            renamed_template(template.read_text(encoding="utf-8"), example, pascal), encoding="utf-8"
        )
    readme = destination / "README.md"
    if readme.is_file():
        readme.write_text(
            renamed_readme(readme.read_text(encoding="utf-8"), example, project_name, pascal),
            encoding="utf-8",
        )
    gitignore = destination / ".gitignore"
    ignored = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    if "dist/" not in ignored.split():
        gitignore.write_text(
            ignored + ("" if ignored.endswith("\n") or not ignored else "\n") + "dist/\n", encoding="utf-8"
        )
    return destination


def main(arguments: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lambda_runtime init", description=DESCRIPTION)
    parser.add_argument("name", help="the new project's directory (its last part names the project)")
    parser.add_argument(
        "--from", dest="example", default="HelloWorld", help="the example to start from (default: HelloWorld)"
    )
    parser.add_argument("--examples-dir", help="where the examples are (default: the repository checkout)")
    options = parser.parse_args(list(arguments))
    try:
        destination = create(options.name, options.example, examples_directory(options.examples_dir))
    except (ScaffoldError, OSError) as error:
        sys.stderr.write(f"lambda-runtime init: {error}\n")
        return 1
    print(
        f"Created {destination} from the {options.example} example (lambda-runtime{version_range()}).\n"
        f"Next: cd {destination} && python3 -m venv .venv && .venv/bin/pip install -e '.[test]' "
        "&& .venv/bin/pytest"
    )
    return 0
