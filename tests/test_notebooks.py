"""The committed notebooks are what nbval can check: executed whole, in order, at the CI scale.

nbval compares a cell only against the outputs committed with it, so a cell that was added or
edited after the notebook ran (no outputs, no execution count) would pass unchecked.
"""
from __future__ import annotations

import nbformat
import pytest

from repro.book import NOTEBOOK_SCALE, chapters

NOTEBOOKS = chapters()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_code_cell_was_executed_in_order_at_the_ci_scale(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: re-execute it with `make notebooks`"
    injected = [c for c in code if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and f'scale = "{NOTEBOOK_SCALE}"' in injected[0].source, path.name
    assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"], path.name


def _shows_a_table_or_figure(cell) -> bool:
    return any(o.get("output_type") in ("display_data", "execute_result") and {"text/html", "image/png"} & set(o.get("data", {}))
               for o in cell.get("outputs", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_reader_sees_results_first(path):
    """Reader view: a cell that shows a table or a figure has its code collapsed (``hide-input``), and no
    table prints a missing value as ``NaN`` (:func:`repro.report.shown` writes "–")."""
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    open_code = [c.source.split("\n")[0] for c in code if _shows_a_table_or_figure(c) and "hide-input" not in c.metadata.get("tags", [])]
    assert not open_code, f"{path.name}: tag these cells hide-input: {open_code}"
    nan = [c.source.split("\n")[0] for c in code for o in c.get("outputs", [])
           if "<td>NaN</td>" in "".join(o.get("data", {}).get("text/html", ""))]
    assert not nan, f"{path.name}: tables showing NaN (format them with repro.report.shown): {nan}"
