#!/usr/bin/env python3
"""The two commands of the quick start, on any machine with Python 3.10+ and nothing else:

    python3 tasks.py demo    # serve the HelloWorld example and invoke it
    python3 tasks.py test    # every test: runtime, examples, lint, type-check, templates, docs

It creates ``.venv-tools`` with nox the first time, then hands over to the nox sessions in noxfile.py.
Any other arguments go to nox as they are (``python3 tasks.py -s bench``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".venv-tools"
NOX_REQUIREMENT = "nox>=2024.4.15"
COMMANDS = {
    "demo": ["-s", "demo"],
    # noxfile.py's default sessions: tests (and tests_other_pythons where 3.10 or 3.13 is installed),
    # examples, lint, typecheck, templates, docs.
    "test": [],
}


def tools_python() -> Path:
    return TOOLS / ("Scripts" if os.name == "nt" else "bin") / "python"


def ensure_nox() -> Path:
    python = tools_python()
    check = [str(python), "-c", "import nox"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"tasks.py: installing nox into {TOOLS.name}/ (once)", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", NOX_REQUIREMENT], check=True)
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    nox_arguments = COMMANDS.get(argv[0], argv[:1]) + argv[1:]
    python = ensure_nox()
    return subprocess.run(
        [str(python), "-m", "nox", "-f", str(ROOT / "noxfile.py"), *nox_arguments]
    ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
