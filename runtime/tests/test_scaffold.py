"""``python -m lambda_runtime init NAME --from EXAMPLE``: an independent project from any example, whose
tests pass as they stand once it is installed with the runtime from a package index."""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from lambda_runtime import __version__, scaffold

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path.parent.name for path in (REPOSITORY / "examples").glob("*/pyproject.toml"))
TIMEOUT = 300.0


def init(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lambda_runtime", "init", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_the_version_range_is_the_release_series() -> None:
    assert scaffold.version_range("0.1.0") == ">=0.1,<0.2"
    assert scaffold.version_range("0.12.3") == ">=0.12,<0.13"
    assert scaffold.version_range("1.4.0") == ">=1.4,<2"
    major, minor = __version__.split(".")[:2]
    assert scaffold.version_range().startswith(f">={major}.{minor},<")


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_becomes_an_independent_project(example: str, tmp_path: Path) -> None:
    finished = init("my-orders", "--from", example, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    project = tmp_path / "my-orders"
    source = REPOSITORY / "examples" / example
    pyproject = (project / "pyproject.toml").read_text()
    for leftover in ("{root:", "allow-direct-references", "RUF200", "WHEN YOU COPY", "[tool.hatch.metadata]"):
        assert leftover not in pyproject
    assert re.search(r'(?m)^name = "my-orders"$', pyproject)
    runtime_lines = re.findall(r'"lambda-runtime[^"]*"', pyproject)
    assert runtime_lines and all(line.endswith(f'{scaffold.version_range()}"') for line in runtime_lines)
    if sys.version_info >= (3, 11):
        import tomllib

        document = tomllib.loads(pyproject)
        assert document["project"]["name"] == "my-orders"
    # The SAM resources and the README's title take the new name; the code and tests are as they were.
    template = (project / "template.yaml").read_text()
    assert not re.search(rf"(?<![A-Za-z0-9]){example}", template)
    assert re.search(r"(?m)^  MyOrders\w*:", template)
    assert (project / "README.md").read_text().startswith("# my-orders\n")
    assert (project / "app.py").read_bytes() == (source / "app.py").read_bytes()
    for test_file in (source / "tests").glob("*.py"):
        assert (project / "tests" / test_file.name).read_bytes() == test_file.read_bytes()
    assert "dist/" in (project / ".gitignore").read_text().split()
    assert not [path for path in project.rglob("*") if path.name in ("__pycache__", ".venv", "dist")]


def test_an_existing_target_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    finished = init("taken", "--from", "HelloWorld", cwd=tmp_path)
    assert (finished.returncode, finished.stderr) == (
        1,
        "lambda-runtime init: taken already exists: choose a new directory\n",
    )
    assert list((tmp_path / "taken").iterdir()) == []


def test_an_unknown_example_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    finished = init("mine", "--from", "HelloMoon", cwd=tmp_path)
    assert finished.returncode == 1
    assert finished.stderr == (
        f"lambda-runtime init: unknown example 'HelloMoon'; the examples are: {', '.join(EXAMPLES)}\n"
    )
    assert not (tmp_path / "mine").exists()


@pytest.mark.network
def test_a_project_from_hello_world_passes_its_tests_with_the_runtime_from_an_index(tmp_path: Path) -> None:
    """lambda-runtime is not on PyPI yet: a wheel built from this checkout stands in for the index
    (``--find-links``). The project is installed as a user would (``pip install '.[test]'``) in a fresh
    virtual environment, and its own pytest run must be green."""
    finished = init("hello-copy", "--from", "HelloWorld", cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    wheels = tmp_path / "wheels"
    pip_wheel = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(wheels),
        str(REPOSITORY / "runtime"),
    ]
    subprocess.run(pip_wheel, check=True, timeout=TIMEOUT, capture_output=True)
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = str(environment / "bin" / "python")
    # The runtime first, from the wheel only: a same-named project on the index must not stand in for it.
    install_runtime = [python, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels)]
    subprocess.run([*install_runtime, f"lambda-runtime=={__version__}"], check=True, timeout=TIMEOUT)
    project = tmp_path / "hello-copy"
    subprocess.run([python, "-m", "pip", "install", "-q", f"{project}[test]"], check=True, timeout=TIMEOUT)
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert re.search(r"\d+ passed", tests.stdout) and "failed" not in tests.stdout
    # The runtime the tests used is the installed wheel, not this checkout.
    where = subprocess.run(
        [python, "-c", "import lambda_runtime; print(lambda_runtime.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert where.stdout.startswith(str(environment))
