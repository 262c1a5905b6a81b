"""The papers' numbers as data: every table present, shaped as in the paper, never typed in prose."""
import json
import re
from pathlib import Path

import pytest

from repro import paper_tables

# (paper, table) -> (rows, columns) as printed in the paper (our CSV adds key columns only).
EXPECTED = {
    ("awa", 1): (60, 10),  # 3 datasets x 5 metrics x 4 bins; 7 methods
    ("awa", 2): (6, 7),
    ("awa", 3): (25, 14),  # 5 metrics x 5 bins; 3 datasets x 4 methods
    ("awa", 4): (25, 6),
    ("awa", 5): (25, 6),
    ("pgn", 1): (5, 4),
    ("pgn", 2): (6, 13),
    ("pgn", 3): (6, 13),
    ("pgn", 4): (4, 9),
    ("pgn", 5): (6, 13),
    ("pgn", 6): (6, 4),
    ("pgn", 7): (7, 13),
    ("pgn", 8): (7, 13),
    ("mtadam", 1): (5, 4),
    ("mtadam", 2): (6, 9),
    ("mtadam", 3): (12, 10),
    ("mtadam", 4): (6, 7),
    ("mtadam", 5): (6, 10),
}


def test_every_table_is_stored():
    stored = {(p, t) for p in paper_tables.PAPERS for t in paper_tables.list_tables(p)}
    assert stored == set(EXPECTED)


@pytest.mark.parametrize("paper,table", sorted(EXPECTED))
def test_table_shape_and_header(paper, table):
    frame = paper_tables.load(paper, table)
    assert frame.shape == EXPECTED[(paper, table)]
    assert frame.attrs["paper"] and frame.attrs["caption"] and frame.attrs["table"]
    numeric = frame.select_dtypes("number")
    assert numeric.shape[1] >= 2 and numeric.notna().any().all()


def test_unknown_tables_fail_clearly():
    with pytest.raises(ValueError, match="unknown paper"):
        paper_tables.load("srgan", 1)
    with pytest.raises(ValueError, match="available: 1, 2, 3, 4, 5"):
        paper_tables.load("mtadam", 9)


def test_spot_values_transcribed():
    assert paper_tables.load("mtadam", 1).set_index("optimizer").loc["MTAdam", "accuracy_mean"] == 97.9
    t5 = paper_tables.load("pgn", 5).set_index("backbone")
    assert t5.loc["UNet", "successful_n"] == 99
    t1 = paper_tables.load("awa", 1)
    row = t1[(t1.dataset == "CelebA") & (t1.metric == "FID") & (t1["mask"] == "(0.5,0.6]")]
    assert row.Ours.item() == 13.087


def _paper_numbers() -> set[str]:
    numbers = set()
    for paper in paper_tables.PAPERS:
        for table in paper_tables.list_tables(paper):
            for value in paper_tables.load(paper, table).select_dtypes("number").to_numpy().ravel():
                text = f"{value:g}"
                if len(text.replace(".", "").lstrip("0")) >= 4:  # distinctive numbers only
                    numbers.add(text)
    return numbers


def test_no_paper_number_is_typed_into_a_notebook():
    numbers = _paper_numbers()
    for notebook in (Path(__file__).parents[1] / "book").glob("*.ipynb"):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            found = {n for n in numbers if re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", source)}
            assert not found, f"{notebook.name}: paper numbers {sorted(found)} typed into a cell; read them from data/"
