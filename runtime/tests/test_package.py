"""``python -m lambda_runtime package``: what goes into the zip, that it is the same bytes every time,
that a dependency without a wheel stops it, that its bytecode is what the import uses, and that the
zip itself runs: unpacked, its ``bootstrap`` started the way Lambda starts a wrapper script, against
the local server's Runtime API.

The tests marked ``network`` build real zips (pip downloads build backends and wheels from the index).
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import queue
import re
import stat
import subprocess
import sys
import threading
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from conftest import serve_one_event
from lambda_runtime.artifact.archive import FIXED_TIMESTAMP, Entry, write_zip
from lambda_runtime.artifact.bytecode import (
    Compiler,
    compile_entries,
    compiler_on_path,
    find_compiler,
    pyc_name,
)
from lambda_runtime.artifact.container import render_dockerfile, render_dockerignore
from lambda_runtime.artifact.dependencies import Target, runtime_requirements
from lambda_runtime.artifact.project import own_code
from lambda_runtime.artifact.wrapper import BOOTSTRAP, START

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "examples"
HELLO_WORLD = EXAMPLES / "HelloWorld"
BUILD_TIMEOUT = 240.0
WAIT = 15.0
# The interpreter running the tests: a build for its version compiles the bytecode with it.
THIS_VERSION = sys.version_info[:2]
THIS_PYTHON = f"{THIS_VERSION[0]}.{THIS_VERSION[1]}"
THIS_TAG = sys.implementation.cache_tag
# A version the tests make sure no interpreter on PATH is.
OTHER_PYTHON = "3.13" if THIS_PYTHON == "3.12" else "3.12"
OTHER_VERSION = (3, int(OTHER_PYTHON.split(".")[1]))
UNCHECKED_HASH = 0b01  # the pyc flags (PEP 552): hash-based, source not checked


def package(
    *arguments: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lambda_runtime", "package", *arguments],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
        cwd=cwd,
        env=env,
    )


def check_pyc(data: bytes, source: bytes, shown: str) -> None:
    """``data`` is this interpreter's unchecked-hash bytecode of ``source``, naming ``shown`` as its file."""
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == UNCHECKED_HASH
    assert data[8:16] == importlib.util.source_hash(source)
    code = marshal.loads(data[16:])
    assert code.co_filename == shown


# --- the pieces, without building -----------------------------------------------------------------


def test_the_target_platform_tags_cover_the_lambda_images_glibc() -> None:
    x86 = Target("x86_64", "3.13").platforms
    assert x86[0] == "manylinux2014_x86_64"
    assert "manylinux_2_34_x86_64" in x86 and "manylinux_2_35_x86_64" not in x86  # Amazon Linux 2023
    assert "manylinux_2_17_x86_64" in x86 and "manylinux1_x86_64" in x86
    arm = Target("arm64", "3.11").platforms
    assert arm[0] == "manylinux2014_aarch64"
    assert "manylinux_2_26_aarch64" in arm and "manylinux_2_27_aarch64" not in arm  # Amazon Linux 2
    assert all("x86_64" not in tag for tag in arm)


@pytest.mark.parametrize(("architecture", "python"), [("x86", "3.13"), ("arm64", "3.9"), ("arm64", "three")])
def test_an_unknown_target_is_refused(architecture: str, python: str) -> None:
    with pytest.raises(ValueError, match=r"unknown architecture|unsupported Python"):
        Target(architecture, python)


def test_the_projects_extras_are_not_deployed() -> None:
    requirements = [
        "lambda-runtime[json] @ file:///somewhere/runtime",
        "lambda-runtime[local] @ file:///somewhere/runtime ; extra == 'local'",
        "pytest>=8; extra == 'test'",
        "tomli>=2; python_version < '3.11'",
    ]
    assert runtime_requirements(requirements) == [requirements[0], requirements[3]]


def test_the_functions_code_is_its_top_level_modules_and_packages(tmp_path: Path) -> None:
    for name in ["app.py", "orders.py", "conftest.py", "noxfile.py", "test_app.py", "setup.py", ".hidden.py"]:
        (tmp_path / name).write_text(f"# {name}\n")
    for directory in ["shop", "shop/data", "tests", ".venv/lib", "events", "dist", "shop/__pycache__"]:
        (tmp_path / directory).mkdir(parents=True, exist_ok=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "data" / "prices.json").write_text("{}")
    (tmp_path / "shop" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "events" / "one.json").write_text("{}")
    (tmp_path / "settings.toml").write_text("")
    names = sorted(entry.name for entry in own_code(tmp_path))
    assert names == ["app.py", "orders.py", "shop/__init__.py", "shop/data/prices.json"]
    names = sorted(
        entry.name
        for entry in own_code(tmp_path, include=["settings.toml"], exclude=["orders.py", "shop/data/*"])
    )
    assert names == ["app.py", "settings.toml", "shop/__init__.py"]


def test_the_zip_is_sorted_timestamped_and_the_same_bytes_for_the_same_files(tmp_path: Path) -> None:
    entries = [Entry("b.py", b"b"), Entry("bootstrap", b"#!/bin/sh\n", 0o755), Entry("a/c.py", b"c" * 1000)]
    write_zip(entries, tmp_path / "one.zip")
    write_zip(list(reversed(entries)), tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == ["a/c.py", "b.py", "bootstrap"]
    assert {info.date_time for info in infos} == {FIXED_TIMESTAMP}
    assert [stat.S_IMODE(info.external_attr >> 16) for info in infos] == [0o644, 0o644, 0o755]
    with pytest.raises(ValueError, match=r"same path in the zip: b\.py"):
        write_zip([Entry("b.py", b"1"), Entry("b.py", b"2")], tmp_path / "three.zip")


# --- the bytecode -------------------------------------------------------------------------------------


def test_pyc_files_go_where_the_import_system_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "pycache_prefix", None)
    for source in ["app.py", "pkg/mod.py", "pkg/sub/__init__.py", "dotted.name.py"]:
        expected = importlib.util.cache_from_source(f"/var/task/{source}", optimization="")
        assert f"/var/task/{pyc_name(source, THIS_TAG)}" == expected
    assert pyc_name("pkg/mod.py", "cpython-313") == "pkg/__pycache__/mod.cpython-313.pyc"


def test_the_build_interpreter_compiles_for_its_own_version() -> None:
    assert find_compiler(THIS_VERSION, search_path="") == Compiler(sys.executable, THIS_TAG)


def write_script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_an_interpreter_on_path_is_run_to_check_its_version(tmp_path: Path) -> None:
    """Found by its name, kept only if it says, run, that it is the version: a pyenv shim of a version
    not selected fails, and a link named after one version may start another."""
    for version in (THIS_PYTHON, OTHER_PYTHON):
        write_script(
            tmp_path / "shim" / f"python{version}", "#!/bin/sh\necho 'pyenv: not selected' >&2\nexit 127\n"
        )
        (tmp_path / "plain" / f"python{version}").parent.mkdir(exist_ok=True)
        (tmp_path / "plain" / f"python{version}").write_text("not executable")
    (tmp_path / "liar").mkdir()
    (tmp_path / "liar" / f"python{OTHER_PYTHON}").symlink_to(sys.executable)
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / f"python{THIS_PYTHON}").symlink_to(sys.executable)
    search_path = os.pathsep.join(
        str(tmp_path / name) for name in ["missing", "shim", "plain", "liar", "real"]
    )
    assert compiler_on_path(OTHER_VERSION, search_path) is None
    assert find_compiler(OTHER_VERSION, search_path) is None
    found = compiler_on_path(THIS_VERSION, search_path)
    assert found == Compiler(str(tmp_path / "real" / f"python{THIS_PYTHON}"), THIS_TAG)


def test_every_module_is_compiled_to_unchecked_hash_bytecode_for_var_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None of the caller's PYTHON* settings reaches the compiler: with PYTHONWARNINGS=error the invalid
    # escape below would be a SyntaxError. The assert stays whatever PYTHONOPTIMIZE says: Lambda runs
    # without -O, and looks for the plain .pyc.
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    monkeypatch.setenv("PYTHONOPTIMIZE", "2")
    monkeypatch.setenv("PYTHONHASHSEED", "random")
    sources = {
        "app.py": (
            b"from pkg.words import is_word\n\ndef handler(event, context):\n    return is_word(event)\n"
        ),
        "pkg/__init__.py": b"",
        "pkg/words.py": (
            b'PATTERN = "\\d"\n\ndef is_word(x):\n    assert x\n    return x in {"ada", "grace", "alan"}\n'
        ),
        "broken.py": b"def (:\n",
    }
    entries = [Entry(name, data) for name, data in sources.items()] + [Entry("pkg/data.json", b"{}")]
    compiler = Compiler(sys.executable, THIS_TAG)
    bytecode = compile_entries(entries, compiler)
    assert bytecode.compiler == compiler
    assert bytecode.failed == ["broken.py"]
    compiled = {entry.name: entry for entry in bytecode.entries}
    assert sorted(compiled) == sorted(pyc_name(name, THIS_TAG) for name in sources if name != "broken.py")
    assert {entry.mode for entry in bytecode.entries} == {0o644}
    for name, source in sources.items():
        if name != "broken.py":
            check_pyc(compiled[pyc_name(name, THIS_TAG)].data, source, f"/var/task/{name}")
    words = marshal.loads(compiled[pyc_name("pkg/words.py", THIS_TAG)].data[16:])
    namespace: dict[str, object] = {}
    exec(words, namespace)
    with pytest.raises(AssertionError):
        namespace["is_word"]("")  # type: ignore[operator]
    assert compile_entries(list(reversed(entries)), compiler) == bytecode  # the same bytes again


# --- the bootstrap, as Lambda starts a wrapper script ---------------------------------------------

FAKE_INTERPRETER = """\
#!/bin/sh
# Prints what it was started with, one argument a line, then PYTHONPATH.
for argument do printf 'arg:%s\\n' "$argument"; done
printf 'PYTHONPATH:%s\\n' "${PYTHONPATH:-}"
"""


@pytest.fixture
def bootstrap(tmp_path: Path) -> Path:
    path = tmp_path / "task" / "bootstrap"
    path.parent.mkdir()
    path.write_text(BOOTSTRAP)
    path.chmod(0o755)
    interpreter = tmp_path / "python3.13"
    interpreter.write_text(FAKE_INTERPRETER)
    interpreter.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("lambda_arguments", "kept_options"),
    [
        pytest.param(["/var/runtime/bootstrap.py"], [], id="as-lambda-starts-it"),
        pytest.param(
            ["-X", "importtime", "/var/runtime/bootstrap.py"], ["-X", "importtime"], id="options-kept"
        ),
        pytest.param(["-u", "/var/runtime/bootstrap", "extra"], ["-u"], id="script-without-suffix"),
        pytest.param([], [], id="interpreter-only"),
    ],
)
def test_the_bootstrap_starts_lambda_runtime_with_the_interpreter_lambda_passed(
    bootstrap: Path, lambda_arguments: list[str], kept_options: list[str]
) -> None:
    interpreter = bootstrap.parent.parent / "python3.13"
    environment = {"PATH": os.environ["PATH"], "_HANDLER": "app.handler", "PYTHONPATH": "/var/runtime"}
    finished = subprocess.run(
        [str(bootstrap), str(interpreter), *lambda_arguments],
        env={**environment, "LAMBDA_TASK_ROOT": "/var/task"},
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    expected = [f"arg:{argument}" for argument in [*kept_options, "-c", START, "app.handler"]]
    assert finished.stdout.splitlines() == [*expected, "PYTHONPATH:/var/task:/var/runtime"]
    # Without LAMBDA_TASK_ROOT, the bootstrap's own directory is the task root.
    finished = subprocess.run(
        [str(bootstrap), str(interpreter), *lambda_arguments],
        env={"PATH": os.environ["PATH"], "_HANDLER": "app.handler"},
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    assert finished.stdout.splitlines()[-1] == f"PYTHONPATH:{bootstrap.parent.resolve()}"


def test_the_bootstrap_without_an_interpreter_says_how_to_use_it(bootstrap: Path) -> None:
    finished = subprocess.run([str(bootstrap)], capture_output=True, text=True, timeout=WAIT, check=False)
    assert finished.returncode == 127
    assert "set this file as AWS_LAMBDA_EXEC_WRAPPER" in finished.stderr


# --- the Dockerfiles --------------------------------------------------------------------------------


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as ``(KEYWORD, arguments)``, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_the_dockerfile_unpacks_the_zip_and_runs_lambda_runtime(architecture: str) -> None:
    target = Target(architecture, "3.13")
    steps = instructions(render_dockerfile("dist/function.zip", target, "app.handler"))
    platform = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}[architecture]
    froms = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert froms == [
        f"--platform={platform} python:3.13-slim AS unpack",
        f"--platform={platform} python:3.13-slim",
    ]
    assert ("COPY", "dist/function.zip /tmp/function.zip") in steps
    [run] = [arguments for keyword, arguments in steps if keyword == "RUN"]
    assert "python -m zipfile -e /tmp/function.zip /var/task" in run and "compileall" in run
    assert ("COPY", "--from=unpack /var/task /var/task") in steps
    [entry_point] = [json.loads(arguments) for keyword, arguments in steps if keyword == "ENTRYPOINT"]
    [command] = [json.loads(arguments) for keyword, arguments in steps if keyword == "CMD"]
    # The zip bootstrap's start (tests/test_imports.py serves a function with it): python -m lambda_runtime's
    # entry point, without runpy.
    assert [*entry_point, *command] == ["python", "-c", START, "app.handler"]
    assert steps[-1][0] == "CMD"


def test_the_images_command_line_serves_the_function(tmp_path: Path) -> None:
    """ENTRYPOINT then CMD, as the container runs them (with this interpreter for the image's python)."""
    steps = instructions(render_dockerfile("dist/function.zip", Target(), "app.handler"))
    [entry_point] = [json.loads(arguments) for keyword, arguments in steps if keyword == "ENTRYPOINT"]
    [[handler]] = [json.loads(arguments) for keyword, arguments in steps if keyword == "CMD"]
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {'echo': event}\n")
    finished, api = serve_one_event(entry_point[1:], handler, tmp_path, {"name": "Ada"})
    assert entry_point[0] == "python"
    assert finished.returncode == 0, finished.stderr
    [result] = api.results.values()
    assert result.json() == {"echo": {"name": "Ada"}}


@pytest.mark.parametrize("example", sorted(path.parent.name for path in EXAMPLES.glob("*/pyproject.toml")))
def test_each_example_ships_the_dockerfile_the_tool_generates(example: str) -> None:
    """The committed Dockerfile and .dockerignore are what ``package --dockerfile`` writes (x86_64, 3.13),
    with the template's first handler as the image's default command (the others override it)."""
    directory = EXAMPLES / example
    handler = re.search(r"^\s*Handler:\s*(\S+)", (directory / "template.yaml").read_text(), re.MULTILINE)
    assert handler is not None, "the template names no handler"
    assert (directory / "Dockerfile").read_text() == render_dockerfile(
        "dist/function.zip", Target(), handler.group(1)
    )
    assert (directory / ".dockerignore").read_text() == render_dockerignore("dist/function.zip")
    assert (directory / "app.py").is_file()  # what CMD app.handler names


# --- real builds --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hello_world_zips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """HelloWorld packaged twice for this interpreter's version (so with bytecode), into two different
    places, by builds with different hash seeds: the two zips and the first build's output."""
    directory = tmp_path_factory.mktemp("zips")
    builds = []
    for name, seed in [("first", "1"), ("second", "2")]:
        built = package(
            str(HELLO_WORLD),
            "--python",
            THIS_PYTHON,
            "--output",
            str(directory / f"{name}.zip"),
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert (built.returncode, built.stderr) == (0, ""), built.stdout + built.stderr
        builds.append(built)
    return directory / "first.zip", directory / "second.zip", builds[0].stdout


def pyc_names(names: list[str]) -> list[str]:
    return [name for name in names if "__pycache__" in name or name.endswith((".pyc", ".pyo"))]


@pytest.mark.network
def test_packaging_twice_gives_the_same_bytes(hello_world_zips: tuple[Path, Path, str]) -> None:
    first, second, _ = hello_world_zips
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.network
def test_the_zip_holds_the_function_the_runtime_and_the_bootstrap(
    hello_world_zips: tuple[Path, Path, str],
) -> None:
    first, _, output = hello_world_zips
    with zipfile.ZipFile(first) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    names = list(infos)
    assert names == sorted(names)
    assert (
        "app.py" in names and "lambda_runtime/__init__.py" in names and "lambda_runtime/runtime.py" in names
    )
    assert not [name for name in names if name.startswith(("tests/", "events/", "bin/", "dist/"))]
    assert not [name for name in names if name.endswith("direct_url.json")]
    assert not [name for name in names if name.startswith("hello_world_function")]  # no local paths recorded
    assert stat.S_IMODE(infos["bootstrap"].external_attr >> 16) == 0o755
    assert {
        stat.S_IMODE(info.external_attr >> 16) for name, info in infos.items() if name != "bootstrap"
    } == {0o644}
    assert {info.date_time for info in infos.values()} == {FIXED_TIMESTAMP}
    # Every module has its bytecode, where the import looks for it, and keeps its source.
    sources = [name for name in names if name.endswith(".py")]
    assert sorted(pyc_names(names)) == sorted(pyc_name(name, THIS_TAG) for name in sources)
    with zipfile.ZipFile(first) as archive:
        for name in sources:
            check_pyc(archive.read(pyc_name(name, THIS_TAG)), archive.read(name), f"/var/task/{name}")
    # It says what it packed, and how big the zip is.
    assert f"Packed HelloWorld for CPython {THIS_PYTHON} on manylinux x86_64" in output
    assert (
        f"Bytecode: {len(sources)} modules compiled by {sys.executable} ({THIS_TAG}, unchecked-hash" in output
    )
    assert "  lambda_runtime/  (" in output and "  app.py" in output and "  bootstrap" in output
    assert re.search(r"\d+ files, [\d.]+ KiB uncompressed -> .*first\.zip \([\d.]+ KiB\)", output), output


class Process:
    """A child process whose stdout lines are read on a thread, so that waiting for one can time out."""

    def __init__(self, arguments: list[str], **options: object) -> None:
        self.popen = subprocess.Popen(
            arguments,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **options,  # type: ignore[call-overload]
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        assert self.popen.stdout is not None
        threading.Thread(target=self._pump, args=(self.popen.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                match = re.search(pattern, self.lines.get(timeout=remaining))
            except queue.Empty:
                break
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s: {''.join(self.output)}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(WAIT)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()


def unpack_like_lambda(archive_path: Path, directory: Path) -> None:
    """Extract the zip keeping each entry's permission bits, as Lambda does into /var/task."""
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            archive.extract(info, directory)
            (directory / info.filename).chmod(stat.S_IMODE(info.external_attr >> 16))


def bare_interpreter(directory: Path) -> Path:
    """An interpreter of this version with nothing installed: it imports lambda_runtime from a zip only."""
    bare = directory / "bare-python"
    venv.EnvBuilder(with_pip=False).create(bare)
    interpreter = bare / "bin" / "python"
    probe = subprocess.run([interpreter, "-c", "import lambda_runtime"], capture_output=True, timeout=WAIT)
    assert probe.returncode != 0  # the bare interpreter cannot import the runtime by itself
    return interpreter


def start_function(task_root: Path, interpreter: Path, processes: list[Process]) -> tuple[str, Process]:
    """A local Runtime API server, and the unpacked zip's bootstrap started against it as Lambda starts a
    wrapper (the interpreter and the managed runtime's script as arguments): the server's address and
    the function's process."""
    server = Process([sys.executable, "-m", "lambda_runtime", "serve", "--api-only", "--port", "0"])
    processes.append(server)
    address = server.wait_for(r"AWS_LAMBDA_RUNTIME_API=(\S+)")[1]
    function = Process(
        [str(task_root / "bootstrap"), str(interpreter), "/var/runtime/bootstrap.py"],
        cwd=task_root.parent,  # not the task root: the bootstrap puts it on the path itself
        env={
            "PATH": os.environ["PATH"],
            "AWS_LAMBDA_RUNTIME_API": address,
            "_HANDLER": "app.handler",
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": "hello-world",
        },
    )
    processes.append(function)
    return address, function


@pytest.mark.network
def test_the_unpacked_zip_runs_behind_the_local_server(
    hello_world_zips: tuple[Path, Path, str], tmp_path: Path, processes: list[Process]
) -> None:
    """The artifact itself runs: its bootstrap, started as Lambda starts a wrapper, with an interpreter
    that has no lambda_runtime installed: everything it imports comes from the zip."""
    task_root = tmp_path / "var" / "task"
    unpack_like_lambda(hello_world_zips[0], task_root)
    address, function = start_function(task_root, bare_interpreter(tmp_path), processes)

    events = sorted(path for path in (HELLO_WORLD / "events").glob("*.json") if ".expected." not in path.name)
    assert events
    with httpx.Client(timeout=WAIT) as client:
        for event in events:
            answer = client.post(f"http://{address}/invoke", content=event.read_bytes())
            assert answer.status_code == 200, answer.text
            expected = json.loads(event.with_name(f"{event.stem}.expected.json").read_bytes())
            assert answer.json() == expected, event.name
        failure = client.post(f"http://{address}/invoke", content=b"{}")
        assert failure.status_code == 500
        assert failure.headers["X-Amz-Function-Error"] == "InvalidEventError"
    # The same server answered through the invoke command too.
    invoked = subprocess.run(
        [
            sys.executable,
            "-m",
            "lambda_runtime",
            "invoke",
            "--url",
            f"http://{address}/invoke",
            "-d",
            '{"name": "Zip"}',
        ],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert (invoked.returncode, json.loads(invoked.stdout)) == (0, {"message": "Hello, Zip!"}), invoked.stderr
    assert function.popen.poll() is None, "".join(function.output)  # still serving


@pytest.mark.network
def test_the_unpacked_zip_starts_and_answers_from_its_bytecode_alone(
    hello_world_zips: tuple[Path, Path, str], tmp_path: Path, processes: list[Process]
) -> None:
    """Every source of the unpacked zip replaced by one that fails to import: the function still starts
    and answers, so every module it imported came from the zip's bytecode, used without reading the
    source (unchecked-hash: the rewritten sources' new times and sizes do not invalidate it)."""
    task_root = tmp_path / "var" / "task"
    unpack_like_lambda(hello_world_zips[0], task_root)
    sources = sorted(task_root.rglob("*.py"))
    assert task_root / "app.py" in sources and task_root / "lambda_runtime" / "runtime.py" in sources
    for source in sources:
        source.write_text('raise ImportError("imported from the source, not the bytecode")\n')
    address, function = start_function(task_root, bare_interpreter(tmp_path), processes)
    with httpx.Client(timeout=WAIT) as client:
        answer = client.post(f"http://{address}/invoke", content=b'{"name": "Ada"}')
    assert (answer.status_code, answer.json()) == (200, {"message": "Hello, Ada!"}), "".join(function.output)
    assert function.popen.poll() is None, "".join(function.output)


@pytest.mark.network
def test_without_an_interpreter_of_the_target_version_the_zip_has_no_bytecode(tmp_path: Path) -> None:
    """The target is not this interpreter's version, and the only ``pythonX.Y`` on PATH is not that
    version either: a zip without bytecode, and one line saying so and how to get it."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / f"python{OTHER_PYTHON}").symlink_to(sys.executable)  # named for the target, but is not it
    output = tmp_path / "function.zip"
    finished = package(
        str(HELLO_WORLD),
        "--python",
        OTHER_PYTHON,
        "--output",
        str(output),
        env={**os.environ, "PATH": str(fake)},
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    [line] = finished.stderr.splitlines()
    assert line.startswith(
        f"lambda-runtime package: no bytecode in the zip: it needs CPython {OTHER_PYTHON} to compile it"
    )
    for advice in (
        f"install python{OTHER_PYTHON}",
        f"--python {THIS_PYTHON}",
        "--dockerfile",
        "--no-compile",
    ):
        assert advice in line
    assert_sources_without_bytecode(finished.stdout, output)


def assert_sources_without_bytecode(output_text: str, zip_path: Path) -> None:
    assert "Bytecode: none" in output_text
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    assert "app.py" in names and "lambda_runtime/runtime.py" in names
    assert pyc_names(names) == []


@pytest.mark.network
def test_no_compile_leaves_the_bytecode_out(tmp_path: Path) -> None:
    output = tmp_path / "function.zip"
    finished = package(str(HELLO_WORLD), "--python", THIS_PYTHON, "--no-compile", "--output", str(output))
    assert (finished.returncode, finished.stderr) == (0, ""), finished.stdout + finished.stderr
    assert_sources_without_bytecode(finished.stdout, output)


@pytest.mark.network
def test_a_dependency_without_a_wheel_stops_the_build(tmp_path: Path) -> None:
    """A dependency published only as a source distribution: one clear line, exit 1, no zip."""
    links = tmp_path / "links"
    links.mkdir()
    sdist_name = "lambda_runtime_test_sdist_only-1.0"
    (links / f"{sdist_name}.tar.gz").write_bytes(b"")  # only its name matters: pip never builds it
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("def handler(event, context):\n    return event\n")
    (project / "pyproject.toml").write_text(
        f"""\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "needs-an-sdist"
version = "1.0"
dependencies = ["lambda-runtime @ {(REPOSITORY / "runtime").as_uri()}", "lambda-runtime-test-sdist-only==1.0"]

[tool.hatch.metadata]
allow-direct-references = true

[tool.hatch.build.targets.wheel]
bypass-selection = true
"""
    )
    finished = package(str(project), "--find-links", str(links))
    assert finished.returncode == 1, finished.stdout + finished.stderr
    [line] = finished.stderr.splitlines()
    assert line.startswith(
        "lambda-runtime package: no wheel of lambda-runtime-test-sdist-only==1.0 for the target"
    )
    assert "CPython 3.13 on manylinux x86_64" in line
    assert not (project / "dist").exists()


def test_a_directory_without_pyproject_is_refused(tmp_path: Path) -> None:
    finished = package(str(tmp_path))
    assert finished.returncode == 1
    message = f"{tmp_path} has no pyproject.toml: pass the directory of a Python project"
    assert finished.stderr == f"lambda-runtime package: {message}\n"


def test_package_help_names_the_defaults() -> None:
    finished = package("--help")
    assert finished.returncode == 0
    for text in (
        "--arch {x86_64,arm64}",
        "default: x86_64",
        "default: 3.13",
        "PROJECT/dist/function.zip",
        "--dockerfile",
        "--no-compile",
    ):
        assert text in finished.stdout
