"""Sessions for the whole monorepo: ``nox -s tests examples lint typecheck templates docs``, ``build``,
``demo`` and ``bench``.

Every session builds its own virtual environment from the repository alone, so a clean checkout
needs nothing but Python and nox (``python3 tasks.py`` installs nox for you).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).parent
RUNTIME = ROOT / "runtime"
EXAMPLES = sorted(path.name for path in (ROOT / "examples").iterdir() if (path / "pyproject.toml").exists())


def _interpreter(version: str) -> str | None:
    """A working ``pythonX.Y``: on PATH, or one pyenv installed but did not put on PATH (its shim then
    only explains that it cannot run it)."""
    installed = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    for candidate in (shutil.which(f"python{version}"), *reversed(installed)):
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


# The oldest Python the runtime supports and the one the examples deploy on, where this machine has them:
# the runtime's suite runs on each, besides the default interpreter's full run in ``tests``.
OTHER_PYTHONS = [path for path in map(_interpreter, ("3.10", "3.13")) if path]

nox.options.sessions = ["tests", "examples", "lint", "typecheck", "templates", "docs"]
if OTHER_PYTHONS:
    nox.options.sessions.insert(1, "tests_other_pythons")
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_external_run = True

TEST_TOOLS = ["pytest>=8", "hypothesis>=6.100", "httpx>=0.27"]


@nox.session
def tests(session: nox.Session) -> None:
    """The runtime's own test suite, with every extra (and awslambdaric, run behind the local server)."""
    session.install("-e", f"{RUNTIME}[all]", "awslambdaric", *TEST_TOOLS)
    session.run("pytest", str(RUNTIME / "tests"), *session.posargs)


@nox.session(python=OTHER_PYTHONS)
def tests_other_pythons(session: nox.Session) -> None:
    """The runtime's suite on Python 3.10 and 3.13 (those found). awslambdaric is left out: it has no
    wheel for every version, and its one test (served behind the local server) runs in ``tests``; so are
    the tests that build packages from an index (``network``: a minute per interpreter of pip installs,
    whose logic does not depend on the interpreter), which ``tests`` runs."""
    session.install("-e", f"{RUNTIME}[all]", *TEST_TOOLS)
    session.run("pytest", str(RUNTIME / "tests"), "-m", "not network", *session.posargs)


# What each example's function needs to answer its sample events quickly when served locally.
LOCAL_ENVIRONMENT = {
    "Streaming": {"LINE_DELAY_MS": "0"},
    "BackgroundTasks": {"BACKGROUND_WORK_MS": "0"},
    # Its events are sent while four workers (one process each) serve them.
    "ManagedInstances": {"AWS_LAMBDA_MAX_CONCURRENCY": "4", "AFTER_RESPONSE_WORK_MS": "0"},
}


@nox.session
@nox.parametrize("example", EXAMPLES)
def examples(session: nox.Session, example: str) -> None:
    """Each example in its own environment, installed as a user would: its tests must pass there; then
    it is served by the local server and invoked with every file in its events/, each answer checked
    against the expectation kept beside the event."""
    directory = ROOT / "examples" / example
    session.install("-e", f"{directory}[test]")
    session.chdir(str(directory))
    session.run("pytest", *session.posargs)
    # The local server is a development tool, added after the example's own tests: NoTraits' tests
    # prove the function itself runs with no extra installed.
    session.install("h11>=0.14,<1", "httpx>=0.27")
    environment = [f"--env={name}={value}" for name, value in LOCAL_ENVIRONMENT.get(example, {}).items()]
    session.run("python", str(ROOT / "scripts" / "invoke_events.py"), str(directory), *environment)


@nox.session
def build(session: nox.Session) -> None:
    """Package examples for deployment: ``nox -s build -- HelloWorld SQS`` (every example by default).

    Each becomes ``examples/<Name>/dist/function.zip`` (x86_64, CPython 3.13), see docs/packaging.md.
    """
    session.install("-e", str(RUNTIME))
    chosen = session.posargs or EXAMPLES
    unknown = sorted(set(chosen) - set(EXAMPLES))
    if unknown:
        session.error(f"unknown example(s) {', '.join(unknown)}; the examples are: {', '.join(EXAMPLES)}")
    for example in chosen:
        session.run("python", "-m", "lambda_runtime", "package", str(ROOT / "examples" / example))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over everything written in Python, each file under its closest configuration."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", str(ROOT))


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the runtime's sources, extras included."""
    session.install("-e", f"{RUNTIME}[all]", "mypy>=1.10")  # the extras' modules import h11, pydantic
    session.run("mypy", "--strict", str(RUNTIME / "src" / "lambda_runtime"))


@nox.session
def demo(session: nox.Session) -> None:
    """Serve the HelloWorld example with the local server and invoke it (the README's first command)."""
    session.install("-e", f"{ROOT / 'examples' / 'HelloWorld'}[local]", "httpx>=0.27")
    session.run("python", str(ROOT / "scripts" / "demo.py"), *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks: this runtime against awslambdaric and a raw-socket floor, in one run (both
    scenarios: the echo and its typed form); then streaming throughput against a raw-socket floor."""
    session.install("-e", f"{RUNTIME}[json]", "awslambdaric")
    session.run("python", str(ROOT / "scripts" / "bench.py"), "--scenario", "all", *session.posargs)
    session.run("python", str(ROOT / "scripts" / "bench_streaming.py"))
    # The same contenders in instructions (valgrind's callgrind), which do not move with the machine's load.
    session.run("python", str(ROOT / "scripts" / "bench_instructions.py"))
    # Managed Instances: throughput with 1, 2, 4, 8 workers in each mode (takes its defaults).
    session.run("python", str(ROOT / "scripts" / "bench_concurrency.py"))


@nox.session
def templates(session: nox.Session) -> None:
    """Every examples/*/template.yaml: cfn-lint, then ``sam validate --lint``, then the deployment
    conventions (scripts/check_examples_deploy.py: the packaged artifact, an explicit architecture, the
    exec wrapper, streaming Function URLs, and a README with deploy steps and a production note).

    Offline: ``sam validate`` needs a region (any will do) but no credentials; telemetry is off."""
    found = sorted(str(path) for path in (ROOT / "examples").glob("*/template.yaml"))
    session.install("aws-sam-cli>=1.120", "cfn-lint>=1")
    session.run("cfn-lint", *found)
    offline = {"SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    for template in found:
        session.run("sam", "validate", "--lint", "--region", "us-east-1", "-t", template, env=offline)
    session.run("python", str(ROOT / "scripts" / "check_examples_deploy.py"))


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml, docs/), built in strict mode: a broken link or a page left
    out of the navigation fails. Its code samples are run by runtime/tests/test_docs_samples.py."""
    session.install("mkdocs>=1.6,<2")
    site = Path(session.create_tmp()) / "site"
    config = str(ROOT / "mkdocs.yml")
    session.run("mkdocs", "build", "--strict", "--config-file", config, "--site-dir", str(site))
