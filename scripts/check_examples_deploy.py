"""Checks the conventions every example's SAM template and README keep, beyond what cfn-lint checks.

    python scripts/check_examples_deploy.py [EXAMPLE_DIR ...]   # default: every examples/*/template.yaml

Run by ``nox -s templates`` after cfn-lint and ``sam validate --lint``. It reads templates with
cfn-lint's own loader (which understands ``!Ref``, ``!GetAtt``, ...), so it needs cfn-lint installed.

For each ``AWS::Serverless::Function``:

* zip model (``PackageType`` absent or ``Zip``): ``CodeUri: dist/function.zip`` (what
  ``python -m lambda_runtime package`` writes), a managed ``python3.12``+ ``Runtime``, a ``Handler``,
  and ``AWS_LAMBDA_EXEC_WRAPPER: /var/task/bootstrap`` in its environment;
  image model (``PackageType: Image``): ``ImageUri``, or ``Metadata.Dockerfile`` for ``sam build``;
* ``Architectures`` set explicitly, to exactly one of ``x86_64`` or ``arm64``;
* ``MemorySize`` set: 128, or another value with a comment on the line above saying why;
* a function whose example streams has a Function URL with ``InvokeMode: RESPONSE_STREAM`` when it is
  written for one (its ``app.py`` calls ``write_status_and_headers``, the Function URL prelude), and any
  Function URL it has streams (``BUFFERED`` would hold every write back until the end).

For each README: no "Not yet runnable" caveat, the package command, ``sam deploy``, and a production
note (a heading containing "production").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = "dist/function.zip"
EXEC_WRAPPER = "/var/task/bootstrap"
ARCHITECTURES = {"x86_64", "arm64"}
MANAGED_PYTHON = re.compile(r"^python3\.(\d+)$")


def check_function(name: str, resource: dict[str, Any], raw: str, streams: Streaming) -> list[str]:
    problems: list[str] = []
    properties = resource.get("Properties") or {}
    package_type = properties.get("PackageType", "Zip")
    if package_type == "Image":
        if "ImageUri" not in properties and "Dockerfile" not in (resource.get("Metadata") or {}):
            problems.append(f"{name}: an Image function needs ImageUri, or Metadata.Dockerfile for sam build")
    else:
        if properties.get("CodeUri") != ARTIFACT:
            problems.append(f"{name}: CodeUri is {properties.get('CodeUri')!r}, expected {ARTIFACT!r}")
        runtime = str(properties.get("Runtime", ""))
        version = MANAGED_PYTHON.match(runtime)
        if not version or int(version.group(1)) < 12:
            problems.append(f"{name}: Runtime is {runtime!r}, expected a managed python3.12 or later")
        if "." not in str(properties.get("Handler", "")):
            problems.append(f"{name}: Handler must be module.function, got {properties.get('Handler')!r}")
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        if variables.get("AWS_LAMBDA_EXEC_WRAPPER") != EXEC_WRAPPER:
            problems.append(f"{name}: Environment.Variables.AWS_LAMBDA_EXEC_WRAPPER must be {EXEC_WRAPPER}")
    architectures = properties.get("Architectures")
    if (
        not isinstance(architectures, list)
        or len(architectures) != 1
        or architectures[0] not in ARCHITECTURES
    ):
        problems.append(f"{name}: Architectures must be set explicitly to [x86_64] or [arm64]")
    memory = properties.get("MemorySize")
    if memory is None:
        problems.append(f"{name}: MemorySize must be set (128 unless the function needs more)")
    elif memory != 128 and not _commented(raw, f"MemorySize: {memory}"):
        problems.append(f"{name}: MemorySize {memory} needs a comment on the line above saying why")
    url = properties.get("FunctionUrlConfig")
    if streams.for_function_url and not url:
        problems.append(f"{name}: a function that writes a Function URL prelude needs a FunctionUrlConfig")
    if (streams.for_function_url or streams.streams) and url and url.get("InvokeMode") != "RESPONSE_STREAM":
        problems.append(f"{name}: a streaming function's Function URL needs InvokeMode: RESPONSE_STREAM")
    return problems


class Streaming:
    """What an example's ``app.py`` says about streaming."""

    def __init__(self, source: str) -> None:
        self.streams = "ResponseStream" in source
        self.for_function_url = "write_status_and_headers" in source


def _commented(raw: str, line: str) -> bool:
    lines = raw.splitlines()
    for index, text in enumerate(lines):
        if text.strip() == line and index > 0:
            return lines[index - 1].strip().startswith("#")
    return False


def with_globals(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A function's properties as SAM sees them: the template's Globals, overridden by the function's
    own, maps (such as Environment.Variables) merged key by key."""
    merged = dict(shared)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = with_globals(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_readme(readme: Path) -> list[str]:
    if not readme.exists():
        return [f"{readme}: missing"]
    text = readme.read_text(encoding="utf-8")
    problems = []
    if "not yet runnable" in text.lower():
        problems.append(f"{readme}: still says the example is not yet runnable on AWS")
    if "lambda_runtime package" not in text and "nox -s build" not in text:
        problems.append(f"{readme}: no deploy step building the artifact (python -m lambda_runtime package)")
    if "sam deploy" not in text:
        problems.append(f"{readme}: no `sam deploy` step")
    if not re.search(r"^#+ .*production", text, re.IGNORECASE | re.MULTILINE):
        problems.append(f"{readme}: no production note (a heading with 'production')")
    return problems


def check_example(directory: Path) -> list[str]:
    template = directory / "template.yaml"
    parsed, matches = decode(str(template))
    if matches or parsed is None:
        return [f"{template}: cannot be read: {[str(match) for match in matches]}"]
    raw = template.read_text(encoding="utf-8")
    app = directory / "app.py"
    streams = Streaming(app.read_text(encoding="utf-8") if app.exists() else "")
    problems: list[str] = []
    functions = {
        name: resource
        for name, resource in (parsed.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }
    if not functions:
        problems.append(f"{template}: no AWS::Serverless::Function")
    shared = (parsed.get("Globals") or {}).get("Function") or {}
    for name, resource in functions.items():
        effective = {**resource, "Properties": with_globals(shared, resource.get("Properties") or {})}
        problems += [f"{template}: {problem}" for problem in check_function(name, effective, raw, streams)]
    return problems + check_readme(directory / "README.md")


def main(argv: list[str]) -> int:
    directories = [Path(arg) for arg in argv] or sorted(
        path.parent for path in (ROOT / "examples").glob("*/template.yaml")
    )
    problems = [problem for directory in directories for problem in check_example(directory)]
    for problem in problems:
        print(problem)
    print(f"{len(directories)} example(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
