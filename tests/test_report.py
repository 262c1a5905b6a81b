import pandas as pd
import pytest

from repro import report


def test_verdict_counts_checks():
    v = report.verdict("x beats y", [True, True, False], "seeds", "margin +1")
    assert (v.holds, v.evidence) == (False, "2/3 seeds; margin +1")
    assert report.verdict("z", True).evidence == "1/1 checks"
    with pytest.raises(ValueError, match="no checks"):
        report.verdict("empty", [])


def test_side_by_side_keeps_the_papers_order_and_extra_rows():
    paper = pd.DataFrame({"method": ["b", "a"], "acc": [1.0, 2.0]})
    ours = pd.DataFrame({"method": ["a", "c", "b"], "acc": [3.0, 4.0, 5.0]})
    table = report.side_by_side(paper, ours, "method", ["acc"])
    assert list(table.index) == ["b", "a", "c"]
    assert table.loc["b", ("acc", "ours")] == 5.0 and table.loc["a", ("acc", "paper")] == 2.0
    assert pd.isna(table.loc["c", ("acc", "paper")])


def test_deviations_filter_by_paper():
    table = report.deviations(["pgn"])
    assert set(table.paper) == {"pgn", "all"}
