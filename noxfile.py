"""Sessions for the whole monorepo: ``nox -s tests examples lint typecheck``, ``demo`` and ``bench``.

Every session builds its own virtual environment from the repository alone, so a clean checkout
needs nothing but Python and nox (``python3 tasks.py`` installs nox for you).
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
RUNTIME = ROOT / "runtime"
EXAMPLES = sorted(path.name for path in (ROOT / "examples").iterdir() if (path / "pyproject.toml").exists())

nox.options.sessions = ["tests", "examples", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_external_run = True

TEST_TOOLS = ["pytest>=8", "hypothesis>=6.100", "httpx>=0.27"]


@nox.session
def tests(session: nox.Session) -> None:
    """The runtime's own test suite, with every extra (and awslambdaric, run behind the local server)."""
    session.install("-e", f"{RUNTIME}[all]", "awslambdaric", *TEST_TOOLS)
    session.run("pytest", str(RUNTIME / "tests"), *session.posargs)


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
    """The benchmark: this runtime against awslambdaric and a raw-socket floor, in one run."""
    session.install("-e", f"{RUNTIME}[json]", "awslambdaric")
    session.run("python", str(ROOT / "scripts" / "bench.py"), *session.posargs)
    # Managed Instances: throughput with 1, 2, 4, 8 workers in each mode (takes its defaults).
    session.run("python", str(ROOT / "scripts" / "bench_concurrency.py"))
