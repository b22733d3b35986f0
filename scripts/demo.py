"""The quick start's first command: run the HelloWorld example behind a Runtime API and invoke it.

It starts a Runtime API on 127.0.0.1, runs ``examples/HelloWorld/app.py`` against it exactly as Lambda
would run it, sends a few events, and prints what the function answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lambda_runtime.testing import RuntimeAPIServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "HelloWorld"
EVENTS = [{"name": "Ada"}, {"name": "Grace"}, {"name": "世界"}]


def main() -> int:
    with RuntimeAPIServer(next_timeout=30) as api:
        request_ids = [api.enqueue(event) for event in EVENTS]
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api.address, MAX_INVOCATIONS=str(len(EVENTS)))
        print(f"Runtime API on {api.address}; starting {EXAMPLE.name}/app.py", flush=True)
        function = subprocess.Popen([sys.executable, "app.py"], cwd=EXAMPLE, env=env)
        try:
            for event, request_id in zip(EVENTS, request_ids, strict=True):
                result = api.wait_for(request_id, timeout=30)
                kind = f"error {result.error_type}" if result.is_error else "response"
                print(f"invoke {json.dumps(event, ensure_ascii=False)} -> {kind} {result.body.decode()}")
            code = function.wait(timeout=30)
        finally:
            if function.poll() is None:
                function.kill()
                function.wait(timeout=10)
    failed = code != 0 or any(api.results[request_id].is_error for request_id in request_ids)
    print("demo failed" if failed else "demo ok: HelloWorld answered every invocation")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
