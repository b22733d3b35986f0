"""The README's Python snippets are excerpts of the code that runs, so they cannot go stale unnoticed.

Each ```python block of README.md must be found, as it is, in ``app.py`` or a file of ``tests/``; a line
holding only ``...`` marks lines left out, and the parts around it must appear in that order, in one file.
"""

import re
from pathlib import Path

import pytest

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
SOURCE_FILES = [EXAMPLE_DIR / "app.py", *sorted(EXAMPLE_DIR.glob("tests/*.py"))]
SOURCES = {path.name: path.read_text(encoding="utf-8") for path in SOURCE_FILES}
README = (EXAMPLE_DIR / "README.md").read_text(encoding="utf-8")
SNIPPETS = re.findall(r"^```python\n(.*?)^```$", README, re.S | re.M)


def parts_of(snippet: str) -> list[str]:
    """The snippet's runs of lines between ``...`` lines."""
    parts, current = [], []
    for line in snippet.splitlines(keepends=True):
        if line.strip() == "...":
            parts.append("".join(current))
            current = []
        else:
            current.append(line)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def found_in_order(parts: list[str], source: str) -> bool:
    position = 0
    for part in parts:
        position = source.find(part, position)
        if position < 0:
            return False
        position += len(part)
    return True


def test_the_readme_has_python_snippets() -> None:
    assert len(SNIPPETS) >= 5


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda snippet: snippet.splitlines()[0][:60])
def test_each_snippet_is_an_excerpt_of_the_code(snippet: str) -> None:
    parts = parts_of(snippet)
    homes = [name for name, source in SOURCES.items() if found_in_order(parts, source)]
    assert homes, f"this README snippet is not (or no longer) in app.py or tests/:\n{snippet}"
