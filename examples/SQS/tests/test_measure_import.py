"""The import-cost script runs and reports every case (its numbers are for README.md, not asserted)."""

import re

import pytest

import measure_import


def test_the_script_prints_one_timed_row_per_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert measure_import.main(["--runs", "1"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("Python ")
    for label in measure_import.CASES:
        row = re.search(rf"^\| {re.escape(label)} +\| +([\d.]+) \|", output, re.MULTILINE)
        assert row is not None, f"no row for {label}:\n{output}"
        assert float(row.group(1)) > 0
