"""The trace id in the C environment: what subprocesses inherit, at a constant cost in memory however
many invocations an execution environment serves (glibc's setenv() keeps every value it was given)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from lambda_runtime import LambdaContext, c_environment
from lambda_runtime.runtime import trace_id_exporter
from lambda_runtime.testing import RuntimeAPIServer

NAME = "_X_AMZN_TRACE_ID"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's environment")


def inherited() -> str | None:
    """The trace id a subprocess started with the default (inherited) environment sees."""
    probe = "import os, sys; sys.stdout.write(repr(os.environ.get('_X_AMZN_TRACE_ID')))"
    finished = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=20)
    value: str | None = eval(finished.stdout)  # repr of a str or None, written just above
    return value


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def trace_id(index: int) -> str:
    return f"Root=1-00000000-{index:024x};Parent=0000000000000001;Sampled=0"


@pytest.fixture(autouse=True)
def no_trace_id_left() -> Iterator[None]:
    yield
    os.environ.pop(NAME, None)


@linux_only
def test_past_the_first_values_the_trace_id_costs_no_memory() -> None:
    export = trace_id_exporter(os.environ, in_place_after=3)
    for index in range(10):
        export(trace_id(index))
    before = resident_mib()
    for index in range(100_000):
        export(trace_id(index))
    # os.putenv would have kept ~150 bytes of each: some 14 MiB.
    assert resident_mib() - before < 2
    assert os.environ[NAME] == inherited() == trace_id(99_999)


@linux_only
@pytest.mark.parametrize("in_place_after", [1000, 2], ids=["putenv", "in-place"])
def test_subprocesses_inherit_every_change(in_place_after: int) -> None:
    export = trace_id_exporter(os.environ, in_place_after=in_place_after)
    for index in range(3):
        export(trace_id(index))
    assert inherited() == trace_id(2)
    export(None)
    assert NAME not in os.environ
    assert inherited() is None
    export("x" * (c_environment.CAPACITY + 10))  # too long for the buffer: copied by setenv instead
    assert inherited() == "x" * (c_environment.CAPACITY + 10)
    export(trace_id(7))
    assert inherited() == os.environ[NAME] == trace_id(7)


@linux_only
def test_a_value_the_functions_code_sets_is_replaced_at_the_next_invocation() -> None:
    export = trace_id_exporter(os.environ, in_place_after=1)
    export(trace_id(1))
    export(trace_id(2))
    os.environ[NAME] = "set by the handler"  # setenv(): a copy takes the buffer's place
    assert inherited() == "set by the handler"
    export(trace_id(3))
    assert inherited() == os.environ[NAME] == trace_id(3)


def test_a_nul_reaches_the_mapping_but_not_the_c_environment() -> None:
    export = trace_id_exporter(os.environ, in_place_after=1)
    export(trace_id(1))
    export("Root=1\x00evil")  # os.putenv would raise: the loop must not
    assert os.environ[NAME] == "Root=1\x00evil"


def test_elsewhere_than_linux_os_putenv_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert c_environment.in_place_setter(b"ANYTHING", {}) is None


@linux_only
def test_the_runtime_switches_over_without_a_missed_value(
    api: RuntimeAPIServer, run: Callable[..., int | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lambda_runtime.runtime.IN_PLACE_AFTER", 2)
    expected = [trace_id(index) for index in range(5)]
    for value in expected:
        api.enqueue({}, headers={"Lambda-Runtime-Trace-Id": value})
    seen: list[tuple[str | None, str | None, str | None]] = []

    def handler(event: object, context: LambdaContext) -> None:
        seen.append((context.trace_id, os.environ.get(NAME), inherited()))

    assert run(handler, api.address, len(expected)) is None
    assert seen == [(value, value, value) for value in expected]
