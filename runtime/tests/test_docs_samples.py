"""Every ```python block in docs/*.md and README.md runs, so no sample in the documentation can rot.

The convention (docs/index.md, "Code samples", says the same for writers):

* Each block is saved as ``docs_sample.py`` in an empty directory and imported in a fresh interpreter,
  so its module-level code runs (``if __name__ == "__main__":`` blocks do not run on import). Top-level
  functions named ``test_*`` are then called with no arguments: a testing sample proves itself.
* A block that defines a top-level ``handler`` must declare an event, and is then run for real: the
  test starts a Runtime API server on 127.0.0.1, runs the sample the way the docs say to run it
  (``python docs_sample.py`` when it ends in a ``__main__`` block calling ``run()``, else
  ``python -m lambda_runtime docs_sample.handler``) and checks what it answers.
* The event and the expectation go in an HTML comment on the line just before the block, invisible
  once rendered::

      <!-- sample: event={"name": "Ada"} expect={"message": "Hello, Ada!"} -->

  ``event=JSON`` (a JSON string is sent as that text, any other value JSON-encoded), ``expect=JSON``
  (the response body, compared as JSON), ``expect_text="..."`` (the body as text, after a Function URL
  prelude if there is one), ``error=TypeName`` (the ``errorType`` of an expected error),
  ``handler=NAME`` (another function than ``handler``), ``env={"NAME": "value"}`` (environment).
* ``<!-- sample: skip because REASON -->`` leaves a block out: a reason is required. Use it sparingly,
  for what cannot run here (a call to AWS, a fragment).

Shell, TOML, YAML and other blocks are not executed. A failing sample fails with its file and line.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.testing import InvocationResult, RuntimeAPIServer

REPOSITORY = Path(__file__).resolve().parents[2]
DOCUMENTS = [*sorted((REPOSITORY / "docs").glob("*.md")), REPOSITORY / "README.md"]
MARKER = re.compile(r"^<!--\s*sample:(?P<body>.*?)-->\s*$")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[\w+-]*)")
SAMPLE_TIMEOUT = 60.0
PRELUDE_SEPARATOR = b"\0" * 8
RUNNER = """\
import docs_sample, sys
for name, value in list(vars(docs_sample).items()):
    if name.startswith("test_") and callable(value):
        value()
        print(f"docs sample: {name} passed", file=sys.stderr)
"""


@dataclass
class Sample:
    path: Path
    line: int  # of the opening fence, 1-based
    code: str
    options: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPOSITORY)}:{self.line}"


class MarkerError(ValueError):
    pass


def parse_marker(body: str) -> tuple[dict[str, Any], str | None]:
    """``event={...} expect=... handler=name`` into options; ``skip because REASON`` into a reason."""
    text = body.strip()
    if text.startswith("skip"):
        reason = text[len("skip") :].strip()
        if not reason.startswith("because") or not reason[len("because") :].strip():
            raise MarkerError("a skipped sample needs a reason: <!-- sample: skip because ... -->")
        return {}, reason[len("because") :].strip()
    options: dict[str, Any] = {}
    decoder = json.JSONDecoder()
    position = 0
    while position < len(text):
        match = re.compile(r"\s*(\w+)=").match(text, position)
        if not match:
            raise MarkerError(f"cannot read {text[position:]!r}: expected name=value")
        name, position = match.group(1), match.end()
        if name not in ("event", "expect", "expect_text", "error", "handler", "env"):
            raise MarkerError(f"unknown option {name!r}")
        if name in ("error", "handler"):
            word = re.compile(r"[\w.]+").match(text, position)
            if not word:
                raise MarkerError(f"{name}= needs a name")
            options[name], position = word.group(0), word.end()
        else:
            try:
                options[name], position = decoder.raw_decode(text, position)
            except json.JSONDecodeError as error:
                raise MarkerError(f"{name}= is not valid JSON: {error}") from None
        while position < len(text) and text[position].isspace():
            position += 1
    if "event" not in options and options:
        raise MarkerError("options without event=: say what to send to the handler")
    return options, None


def collect(path: Path) -> list[Sample | tuple[str, str]]:
    """The python samples of one document; a malformed marker comes back as ``(where, message)``."""
    found: list[Sample | tuple[str, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    pending: tuple[int, str] | None = None
    while index < len(lines):
        line = lines[index]
        marker = MARKER.match(line.strip())
        if marker:
            pending = (index + 1, marker.group("body"))
            index += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            if line.strip():
                pending = None if pending is None else _stray(found, path, pending)
            index += 1
            continue
        closing = fence.group("indent") + fence.group("fence")
        end = index + 1
        while end < len(lines) and not lines[end].startswith(closing):
            end += 1
        is_python = fence.group("info") in ("python", "py")
        if is_python:
            indent = len(fence.group("indent"))
            code = "\n".join(text[indent:] for text in lines[index + 1 : end]) + "\n"
            sample = Sample(path, index + 1, code)
            if pending is not None:
                try:
                    sample.options, sample.skip_reason = parse_marker(pending[1])
                except MarkerError as error:
                    found.append((f"{path.relative_to(REPOSITORY)}:{pending[0]}", str(error)))
            found.append(sample)
        elif pending is not None:
            found.append(
                (f"{path.relative_to(REPOSITORY)}:{pending[0]}", "a sample marker before a non-python block")
            )
        pending = None
        index = end + 1
    if pending is not None:
        _stray(found, path, pending)
    return found


def _stray(found: list[Sample | tuple[str, str]], path: Path, pending: tuple[int, str]) -> None:
    found.append(
        (f"{path.relative_to(REPOSITORY)}:{pending[0]}", "a sample marker not followed by a python block")
    )


ALL = [item for document in DOCUMENTS for item in collect(document)]
SAMPLES = [item for item in ALL if isinstance(item, Sample)]
MARKER_ERRORS = [item for item in ALL if not isinstance(item, Sample)]


def test_the_documents_have_samples() -> None:
    assert len(SAMPLES) >= 10, [sample.where for sample in SAMPLES]


def test_every_sample_marker_is_well_formed() -> None:
    assert not MARKER_ERRORS, "\n".join(f"{where}: {message}" for where, message in MARKER_ERRORS)


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.where for sample in SAMPLES])
def test_sample_runs(sample: Sample, tmp_path: Path) -> None:
    if sample.skip_reason is not None:
        pytest.skip(f"{sample.where}: {sample.skip_reason}")
    try:
        tree = ast.parse(sample.code)
    except SyntaxError as error:
        pytest.fail(f"{sample.where}: the sample is not valid Python: {error}", pytrace=False)
    (tmp_path / "docs_sample.py").write_text(sample.code, encoding="utf-8")
    environment = _environment(sample)
    imported = _run([sys.executable, "-c", RUNNER], tmp_path, environment)
    if imported.returncode != 0:
        pytest.fail(
            f"{sample.where}: the sample failed when run:\n{imported.stdout}{imported.stderr}", pytrace=False
        )
    handler = sample.options.get("handler", "handler")
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    defined |= {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if "event" not in sample.options:
        if "handler" in defined:
            pytest.fail(
                f"{sample.where}: the sample defines a handler but declares no event to invoke it with;"
                " add <!-- sample: event=... expect=... --> before the block (see test_docs_samples.py)",
                pytrace=False,
            )
        return
    if handler not in defined:
        pytest.fail(f"{sample.where}: the sample declares an event but defines no {handler!r}", pytrace=False)
    result = _invoke(sample, tmp_path, environment, handler, _runs_itself(tree) and handler == "handler")
    _check(sample, result)


def _environment(sample: Sample) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("AWS_LAMBDA_RUNTIME_API", "_HANDLER")
    }
    environment.update({name: str(value) for name, value in sample.options.get("env", {}).items()})
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [".", environment.get("PYTHONPATH", "")]))
    return environment


def _run(command: list[str], cwd: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=SAMPLE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(
            f"{' '.join(command)} did not finish in {SAMPLE_TIMEOUT} s: {error.stdout!r} {error.stderr!r}",
            pytrace=False,
        )


def _runs_itself(tree: ast.Module) -> bool:
    """Whether the sample ends in ``if __name__ == "__main__": ...run()``, as the docs tell people to."""
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and "__main__" in ast.unparse(node.test)
            and ".run()" in ast.unparse(node)
        ):
            return True
    return False


def _invoke(
    sample: Sample, cwd: Path, environment: dict[str, str], handler: str, as_script: bool
) -> InvocationResult:
    event = sample.options["event"]
    with RuntimeAPIServer(next_timeout=SAMPLE_TIMEOUT) as api:
        request_id = api.enqueue(event)
        environment = dict(environment, AWS_LAMBDA_RUNTIME_API=api.address, MAX_INVOCATIONS="1")
        command = (
            [sys.executable, "docs_sample.py"]
            if as_script
            else [sys.executable, "-m", "lambda_runtime", f"docs_sample.{handler}"]
        )
        finished = _run(command, cwd, environment)
        if request_id not in api.results:
            pytest.fail(
                f"{sample.where}: `{' '.join(command[1:])}` answered nothing (exit {finished.returncode});"
                f" init errors: {[error.body for error in api.init_errors]}\n"
                f"{finished.stdout}{finished.stderr}",
                pytrace=False,
            )
        return api.results[request_id]


def _check(sample: Sample, result: InvocationResult) -> None:
    expected_error = sample.options.get("error")
    if result.is_error:
        body = json.loads(result.error_body or b"{}")
        if expected_error is None or body.get("errorType") != expected_error:
            pytest.fail(f"{sample.where}: the handler failed: {body}", pytrace=False)
        return
    if expected_error is not None:
        pytest.fail(f"{sample.where}: expected error {expected_error}, got {result.body!r}", pytrace=False)
    body = result.body
    if "expect" in sample.options:
        try:
            answer = json.loads(body)
        except ValueError:
            pytest.fail(f"{sample.where}: the answer is not JSON: {body!r}", pytrace=False)
        assert answer == sample.options["expect"], f"{sample.where}: unexpected answer"
    if "expect_text" in sample.options:
        if PRELUDE_SEPARATOR in body:
            body = body.split(PRELUDE_SEPARATOR, 1)[1]
        assert body.decode() == sample.options["expect_text"], f"{sample.where}: unexpected answer"
    if "expect" not in sample.options and "expect_text" not in sample.options:
        pytest.fail(
            f"{sample.where}: the marker declares an event but no expect=, expect_text= or error=",
            pytrace=False,
        )


# -- the convention itself ------------------------------------------------------------------------------


def test_a_marker_is_read_with_json_values() -> None:
    options, reason = parse_marker(' event={"name": "Ada Lovelace"} expect={"a": [1, 2]} handler=greet ')
    assert reason is None
    assert options == {"event": {"name": "Ada Lovelace"}, "expect": {"a": [1, 2]}, "handler": "greet"}


def test_a_skip_needs_a_reason() -> None:
    assert parse_marker("skip because it calls AWS") == ({}, "it calls AWS")
    with pytest.raises(MarkerError, match="reason"):
        parse_marker("skip")


def test_bad_markers_are_refused_clearly() -> None:
    with pytest.raises(MarkerError, match="unknown option 'evnt'"):
        parse_marker('evnt={"a": 1}')
    with pytest.raises(MarkerError, match="not valid JSON"):
        parse_marker("event={'a': 1}")
    with pytest.raises(MarkerError, match="without event"):
        parse_marker('expect={"a": 1}')


def test_samples_are_found_with_their_lines_and_markers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "REPOSITORY", tmp_path)
    document = tmp_path / "page.md"
    document.write_text(
        "# Page\n\n```sh\necho hi\n```\n\n"
        '<!-- sample: event={"n": 1} expect=2 -->\n'
        '```python\ndef handler(event, context):\n    return event["n"] + 1\n```\n\n'
        "<!-- sample: skip because it is a fragment -->\n```python\n...\n```\n\n"
        "<!-- sample: skip because stray -->\n\nSome text.\n",
        encoding="utf-8",
    )
    found = collect(document)
    samples = [item for item in found if isinstance(item, Sample)]
    errors = [item for item in found if not isinstance(item, Sample)]
    assert [(sample.line, sample.options, sample.skip_reason) for sample in samples] == [
        (8, {"event": {"n": 1}, "expect": 2}, None),
        (14, {}, "it is a fragment"),
    ]
    assert samples[0].where == "page.md:8"
    assert errors == [("page.md:18", "a sample marker not followed by a python block")]
