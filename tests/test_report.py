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


def test_seed_spread_is_the_sample_statistics_over_seeds():
    import numpy as np

    by_seed = {0: {"PSNR": 20.0, "LPIPS": 0.3}, 2: {"PSNR": 21.5, "LPIPS": 0.2}, 1: {"PSNR": 19.0, "LPIPS": 0.4}}
    table = report.seed_spread(by_seed, ["PSNR", "LPIPS"])
    assert list(table.columns) == ["seed 0", "seed 1", "seed 2", "mean", "sd", "range"]
    psnr = np.array([20.0, 19.0, 21.5])
    assert table.loc["PSNR", "seed 1"] == 19.0
    assert table.loc["PSNR", "mean"] == pytest.approx(psnr.mean())
    assert table.loc["PSNR", "sd"] == pytest.approx(np.sqrt(((psnr - psnr.mean()) ** 2).sum() / 2))  # ddof 1
    assert table.loc["LPIPS", "range"] == pytest.approx(0.2)
    assert pd.isna(report.seed_spread({0: {"PSNR": 1.0}}).loc["PSNR", "sd"])  # one seed: no spread
    with pytest.raises(ValueError, match="at least one seed"):
        report.seed_spread({})


def test_every_reference_spread_has_the_ledgers_minimum_of_seeds():
    from repro import claims

    assert len(set(report.SEEDS)) >= claims.MIN_SEEDS


def test_shown_writes_blanks_as_a_dash_and_rounds():
    paper = pd.DataFrame({"method": ["b", "a"], "acc": [1.0, 2.0]})
    ours = pd.DataFrame({"method": ["a", "c", "b"], "acc": [3.14159, 4.0, 5.0]})
    table = report.shown(report.side_by_side(paper, ours, "method", ["acc"]), 2)
    assert table.loc["c", ("acc", "paper")] == report.BLANK == "–"
    assert table.loc["a", ("acc", "ours")] == "3.14" and table.loc["b", ("acc", "paper")] == "1.00"
    assert "NaN" not in table.to_html() and "nan" not in table.to_string()
    assert report.cell(7) == "7" and report.cell(0.012345) == "0.0123" and report.cell(None) == "–"
