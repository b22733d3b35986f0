"""Serve an example with the local server and invoke it with each of its sample events.

    python scripts/invoke_events.py examples/HelloWorld [--env NAME=VALUE ...]

It starts ``python -m lambda_runtime serve app.handler`` in the example's directory (on a free port),
POSTs every ``events/<name>.json`` to ``/invoke`` with httpx, and compares the answer with the
expectation kept beside the event: ``<name>.expected.json`` (the body, compared as JSON, and a success
status) or ``<name>.expected.txt`` (the body text as the client receives it, streamed responses
included). An optional ``<name>.headers.json`` (a JSON object of header names to values) adds headers
to that event's request, e.g. ``{"X-Amz-Tenant-Id": "blue"}`` to invoke as a tenant, as Lambda's Invoke
API takes it. It exits non-zero, saying which event and how, when any answer differs or an expectation
is missing. Run it with the example's own interpreter (its venv has lambda-runtime and h11).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

READY = re.compile(r"listening on (\S+?):(\d+)")
START_TIMEOUT = 30.0
INVOKE_TIMEOUT = 60.0


def start_server(example: Path, handler: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start the local server with the function; return the process and the base URL once it is ready."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lambda_runtime", "serve", handler],
        cwd=example,
        env={**os.environ, **env, "LOCAL_LAMBDA_PORT": "0", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: list[str] = []
    ready = threading.Event()

    def watch_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(f"    | {line}")
            match = READY.search(line)
            if match and not found:
                found.append(f"http://{match.group(1)}:{match.group(2)}")
                ready.set()
        ready.set()

    threading.Thread(target=watch_output, daemon=True).start()
    if not ready.wait(START_TIMEOUT) or not found:
        stop(process)
        raise SystemExit(f"{example.name}: the local server did not say it was listening")
    return process, found[0]


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def check_event(client: httpx.Client, url: str, event: Path) -> str | None:
    """Invoke with ``event``; the problem with the answer, or None when it is as expected."""
    expected_json = event.with_name(f"{event.stem}.expected.json")
    expected_text = event.with_name(f"{event.stem}.expected.txt")
    headers_file = event.with_name(f"{event.stem}.headers.json")
    headers = json.loads(headers_file.read_bytes()) if headers_file.exists() else {}
    response = client.post(url, content=event.read_bytes(), headers=headers)
    if expected_json.exists():
        if response.status_code != 200 or "x-amz-function-error" in response.headers:
            return f"expected success, got {response.status_code}: {response.text[:300]}"
        if response.json() != json.loads(expected_json.read_bytes()):
            return f"got {response.text[:300]!r}, expected {expected_json.read_text()[:300]!r}"
        return None
    if expected_text.exists():
        if response.text != expected_text.read_text(encoding="utf-8"):
            return f"got {response.text[:300]!r}, expected {expected_text.read_text()[:300]!r}"
        return None
    return f"no {expected_json.name} or {expected_text.name} beside it"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("example", type=Path, help="the example's directory")
    parser.add_argument("--handler", default="app.handler")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="for the function")
    args = parser.parse_args()
    example: Path = args.example.resolve()
    env = dict(item.split("=", 1) for item in args.env)
    # An example with several functions keeps each one's events in events/<function>/: served as
    # app.<function>, one after the other.
    groups = [(args.handler, example / "events")] + [
        (f"app.{directory.name}", directory)
        for directory in sorted((example / "events").iterdir())
        if directory.is_dir()
    ]
    failures = 0
    for handler, directory in groups:
        events = sorted(
            path
            for path in directory.glob("*.json")
            if ".expected." not in path.name and not path.name.endswith(".headers.json")
        )
        if events:
            failures += invoke_all(example, handler, events, env)
        elif directory == example / "events" and len(groups) == 1:
            print(f"{example.name}: no events/*.json to invoke")
            return 1
    return 1 if failures else 0


def invoke_all(example: Path, handler: str, events: list[Path], env: dict[str, str]) -> int:
    """Serve ``handler`` and check each of ``events``; the number of failures."""
    process, base_url = start_server(example, handler, env)
    failures = 0
    try:
        with httpx.Client(timeout=INVOKE_TIMEOUT) as client:
            for event in events:
                started = time.monotonic()
                problem = check_event(client, f"{base_url}/invoke", event)
                elapsed = (time.monotonic() - started) * 1000
                verdict = "ok  " if problem is None else "FAIL"
                detail = f": {problem}" if problem else ""
                name = event.relative_to(example)
                print(f"{verdict} {example.name}/{name} ({elapsed:.0f} ms){detail}")
                failures += problem is not None
    finally:
        stop(process)
    answered = len(events) - failures
    print(f"{example.name} ({handler}): {answered} of {len(events)} events answered as expected")
    return failures


if __name__ == "__main__":
    sys.exit(main())
