"""Tests for Lifecycle: the handler and its hooks called directly, then the real function as a process.

The end-to-end tests run ``python -m lambda_runtime app.handler`` against a test Runtime API (which also
plays the Extensions API), invoke it, send SIGTERM the way Lambda does before it shuts an environment
down, and check that the shutdown hook committed the visits and that the process exited 0.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lambda_runtime.testing import RuntimeAPIServer, make_context

import app

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
EVENTS_DIR = EXAMPLE_DIR / "events"
TIMEOUT = 20.0


def committed_visits(path: Path) -> dict[str, int]:
    """What another connection sees in the database: only committed visits."""
    with sqlite3.connect(path) as connection:
        return dict(connection.execute("SELECT name, count FROM visits").fetchall())


# --- The handler and its hooks on their own ---------------------------------------------------------


@pytest.fixture
def opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The database opened as init would open it, and closed as the shutdown hook would."""
    path = tmp_path / "visits.db"
    monkeypatch.setattr(app, "DATABASE_PATH", path)
    app.open_database()
    yield path
    app.close_database()


def test_each_visit_is_counted_per_name(opened: Path) -> None:
    context = make_context()
    assert app.handler({"name": "Ada"}, context) == {"name": "Ada", "visits": 1}
    assert app.handler({"name": " Ada "}, context) == {"name": "Ada", "visits": 2}
    assert app.handler({"name": "Grace"}, context) == {"name": "Grace", "visits": 1}


def test_visits_are_committed_in_batches_and_at_shutdown(opened: Path) -> None:
    for _ in range(app.COMMIT_EVERY + 2):
        app.handler({"name": "Ada"}, make_context())
    assert committed_visits(opened) == {"Ada": app.COMMIT_EVERY}
    app.close_database()
    assert committed_visits(opened) == {"Ada": app.COMMIT_EVERY + 2}


@pytest.mark.parametrize("event", [{}, {"name": "  "}, {"name": 7}, ["Ada"]])
def test_an_event_without_a_name_is_an_error(event: object, opened: Path) -> None:
    with pytest.raises(app.InvalidEventError, match="non-blank"):
        app.handler(event, make_context())


def test_the_handler_refuses_to_run_without_init() -> None:
    assert app.database is None
    with pytest.raises(RuntimeError, match="during init"):
        app.handler({"name": "Ada"}, make_context())


# --- The function as Lambda runs it ---------------------------------------------------------------


def start_function(api: RuntimeAPIServer, database: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "lambda_runtime", "app.handler"],
        cwd=EXAMPLE_DIR,
        env={
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "COUNTER_DB": str(database),
            "LAMBDA_SHUTDOWN_EXTENSION": "1",  # as template.yaml sets it
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def serve_visits(api: RuntimeAPIServer, names: list[str]) -> list[object]:
    request_ids = [api.enqueue({"name": name}) for name in names]
    return [api.wait_for(request_id, timeout=TIMEOUT).json() for request_id in request_ids]


def test_sigterm_commits_and_closes_the_database_then_exits_0(tmp_path: Path) -> None:
    database = tmp_path / "visits.db"
    with RuntimeAPIServer(next_timeout=60) as api:
        process = start_function(api, database)
        answers = serve_visits(api, ["Ada", "Grace", "Ada"])
        assert answers == [
            {"name": "Ada", "visits": 1},
            {"name": "Grace", "visits": 1},
            {"name": "Ada", "visits": 2},
        ]
        assert committed_visits(database) == {}  # fewer than COMMIT_EVERY: nothing committed yet
        # The internal extension registered, so Lambda would send SIGTERM: send it as Lambda would.
        assert [name for name, _ in api.extensions] == ["_lambda-runtime-python-graceful-shutdown"]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, output.decode()
    assert committed_visits(database) == {"Ada": 2, "Grace": 1}
    assert "Shutting down after SIGTERM: running 1 shutdown hook(s)" in output.decode()


def test_without_a_graceful_shutdown_the_last_batch_is_lost(tmp_path: Path) -> None:
    """What the shutdown hook is for: SIGKILL (what Lambda does when no extension is registered) loses
    the visits not yet committed."""
    database = tmp_path / "visits.db"
    with RuntimeAPIServer(next_timeout=60) as api:
        process = start_function(api, database)
        serve_visits(api, ["Ada", "Ada"])
        process.kill()
        process.communicate(timeout=TIMEOUT)
    assert committed_visits(database) == {}


def test_the_sample_events_have_expectations() -> None:
    events = sorted(path for path in EVENTS_DIR.glob("*.json") if ".expected." not in path.name)
    assert events
    for event in events:
        expected = json.loads(event.with_name(f"{event.stem}.expected.json").read_bytes())
        assert set(expected) == {"name", "visits"}


def test_a_stop_request_is_quick(tmp_path: Path) -> None:
    """SIGTERM while the runtime waits for its next invocation ends the wait at once."""
    database = tmp_path / "visits.db"
    with RuntimeAPIServer(next_timeout=60) as api:
        process = start_function(api, database)
        serve_visits(api, ["Ada"])
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=TIMEOUT)
        assert time.monotonic() - started < 5
    assert process.returncode == 0
