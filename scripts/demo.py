"""The quick start's first command: serve the HelloWorld example with the local server, then invoke it.

It starts ``python -m lambda_runtime serve app.handler`` in ``examples/HelloWorld`` (no Docker, no AWS
account), sends a few events to its ``/invoke`` endpoint with httpx, a bad one among them, and prints
each answer as a client sees it. Run it with ``python3 tasks.py demo``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
from invoke_events import start_server, stop

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "HelloWorld"
EVENTS: list[object] = [{"name": "Ada"}, {"name": "Grace"}, {"name": "世界"}, {"nom": "Ada"}]


def main() -> int:
    print(f"Starting {EXAMPLE.name} with the local server...", flush=True)
    process, base_url = start_server(EXAMPLE, "app.handler", {})
    unexpected = 0
    try:
        with httpx.Client(timeout=30) as client:
            for event in EVENTS:
                body = json.dumps(event, ensure_ascii=False)
                response = client.post(f"{base_url}/invoke", content=body.encode())
                error = response.headers.get("x-amz-function-error")
                outcome = f"function error {error}" if error else f"HTTP {response.status_code}"
                print(f"POST /invoke {body} -> {outcome}: {response.text}", flush=True)
                # The last event has no "name": HelloWorld must refuse it, the others must succeed.
                should_fail = "name" not in event  # type: ignore[operator]
                unexpected += bool(error) != should_fail
    finally:
        stop(process)
    where = EXAMPLE.relative_to(Path.cwd()) if EXAMPLE.is_relative_to(Path.cwd()) else EXAMPLE
    print(f"\nTry it yourself:  cd {where}")
    print("  python -m lambda_runtime serve app.handler")
    print("  curl -X POST http://127.0.0.1:7000/invoke -d '{\"name\": \"Ada\"}'")
    print("demo ok" if not unexpected else "demo failed: an answer was not what HelloWorld should give")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
