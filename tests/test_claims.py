"""The rule that decides a claim, on synthetic paired data whose answer is known."""
import numpy as np
import pytest

from repro import claims
from repro.claims import Outcome, decide, paired_interval

PAPER_EFFECT = 0.10  # e.g. a 10 % relative improvement of LPIPS
SEED_NOISE = 0.04  # the spread of a per-seed paired difference


def _draws(effect: float, seeds: int, n: int = 2000, noise: float = SEED_NOISE, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(effect, noise, size=(n, seeds))


def _rates(effect: float, seeds: int = 5, **kw) -> dict:
    outcomes = [decide(d, PAPER_EFFECT).outcome for d in _draws(effect, seeds, **kw)]
    return {o: outcomes.count(o) / len(outcomes) for o in Outcome}


def test_the_interval_is_the_paired_t_interval():
    d = [0.1, 0.3, 0.2, 0.4]
    mean, low, high = paired_interval(d, level=0.95)
    half = 3.182446305284263 * np.std(d, ddof=1) / 2  # t_{3, 0.975} s / sqrt(4)
    assert mean == pytest.approx(0.25) and (low, high) == pytest.approx((0.25 - half, 0.25 + half))


def test_a_real_effect_of_the_papers_size_is_reproduced():
    assert _rates(PAPER_EFFECT)[Outcome.REPRODUCED] > 0.9


def test_a_reversed_effect_is_contradicted():
    assert _rates(-PAPER_EFFECT)[Outcome.CONTRADICTED] > 0.9


def test_a_null_effect_is_mostly_inconclusive_and_rarely_reproduced():
    rates = _rates(0.0)
    # One-sided error of a 95 % interval: 2.5 % reproduced; 2000 draws put 4 % far in its tail.
    assert rates[Outcome.REPRODUCED] <= (1 - claims.LEVEL) / 2 + 0.015
    assert rates[Outcome.INCONCLUSIVE] > 0.5


def test_a_tenth_of_the_papers_effect_with_a_tight_interval_is_contradicted():
    rates = _rates(PAPER_EFFECT / 10, seeds=8, noise=0.005)
    assert rates[Outcome.CONTRADICTED] > 0.9  # real but far below f x E: not the claimed effect


def test_fewer_than_three_seeds_are_inconclusive_whatever_the_interval():
    d = decide([0.5, 0.5001], PAPER_EFFECT)
    assert d.outcome is Outcome.INCONCLUSIVE and "2 paired seeds" in d.reason
    assert decide([], PAPER_EFFECT).seeds == 0


def test_not_testable_only_for_the_listed_reasons():
    assert decide([], testable="no: human raters").outcome is Outcome.NOT_TESTABLE
    with pytest.raises(ValueError, match="not testable only for"):
        decide([], testable="no: too slow on a CPU")


def test_a_half_width_beyond_the_papers_effect_is_underpowered():
    assert decide([0.3, -0.2, 0.4, -0.1], PAPER_EFFECT).underpowered
    assert not decide([0.10, 0.11, 0.09, 0.10], PAPER_EFFECT).underpowered


def test_effects_are_signed_so_the_claimed_direction_is_positive():
    assert claims.signed_effect(0.8, 1.0, "lower", "relative") == pytest.approx(0.2)
    assert claims.signed_effect(30.0, 25.0, "higher", "absolute") == pytest.approx(5.0)
    assert claims.signed_effect(1.0, 4.0, "lower", "log_ratio") == pytest.approx(np.log(4))


# ---- the ledger --------------------------------------------------------------------------------
def test_the_ledger_loads_and_every_paper_effect_is_computed_in_the_claimed_direction():
    ledger = claims.load_ledger()
    assert len(ledger) >= 60 and set(ledger.paper) == {"awa", "pgn", "mtadam"}
    effects = np.array([claims.paper_effect(row) for row in ledger.itertuples()])
    assert np.isfinite(effects).sum() >= 60
    assert (effects[np.isfinite(effects)] > 0).all()  # the paper's own numbers support its claim (margins included)
    assert ledger.attrs["level"].startswith(str(claims.LEVEL)) and ledger.attrs["fraction"].startswith(str(claims.FRACTION))


def test_a_broken_ledger_row_is_one_clear_error(tmp_path):
    text = claims.ledger_path().read_text().splitlines()
    header = [l for l in text if l.startswith("#")]
    rows = [l for l in text if not l.startswith("#")]
    bad = tmp_path / "claims.csv"
    bad.write_text("\n".join(header + rows[:2] + [rows[1]]) + "\n")  # the same claim twice
    with pytest.raises(ValueError, match="duplicate claim ids"):
        claims.load_ledger(bad)


def test_decisions_pair_seeds_and_cells_and_apply_the_margin():
    import pandas as pd

    ledger = claims.load_ledger().head(0)
    row = dict.fromkeys(claims.COLUMNS, "")
    row.update(claim_id="mtadam.test.x", paper="mtadam", metric="L1", direction="lower", treatment="A", reference="B",
               cells="t2/*", effect_form="relative", testable="yes")
    ledger = pd.concat([ledger, pd.DataFrame([row, {**row, "claim_id": "mtadam.test.parity", "margin": "0.5"}])])
    obs = pd.DataFrame([{"seed": s, "arm": arm, "metric": "L1", "cell": cell, "value": v, "n": 40}
                        for s in range(4) for cell in ("t2/a", "t2/b", "t3/a")
                        for arm, v in (("A", 0.8 + 0.01 * s), ("B", 1.0))])
    table = claims.decisions(ledger, {"mtadam": obs}, "smoke").set_index("claim_id")
    x = table.loc["mtadam.test.x"]
    assert x.seeds == 4 and x.n == 40 and x.outcome == "reproduced"
    assert x.effect == pytest.approx(np.mean([0.2 - 0.01 * s for s in range(4)]))
    assert table.loc["mtadam.test.parity"].effect == pytest.approx(x.effect + 0.5)


def test_repro_claims_names_the_chapter_to_run_when_a_result_is_missing(tmp_path, monkeypatch, capsys):
    from repro import cli

    monkeypatch.setenv("REPRO_RESULTS", str(tmp_path / "empty"))
    assert cli.main(["claims", "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "no stored result of" in err and "run its chapter first" in err and "--scale smoke" in err
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").rglob("*.json"))  # nothing computed


def test_repro_claims_csv_has_the_documented_columns_and_four_outcomes_only(monkeypatch, capsys):
    import io

    import pandas as pd

    from repro import cli, ledger

    empty = pd.DataFrame(columns=list(claims.OBSERVATION_COLUMNS))
    monkeypatch.setattr(ledger, "OBSERVERS", {p: (lambda scale, data_root, chapters: empty) for p in ledger.OBSERVERS})
    assert cli.main(["claims", "--scale", "smoke", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(table.columns[:14]) == ["paper", "item", "claim_id", "claim", "metric", "direction", "paper_effect", "effect",
                                        "ci_low", "ci_high", "seeds", "n", "outcome", "scale"]
    assert set(table.outcome) <= {o.value for o in Outcome} and len(table) == len(claims.load_ledger())
    assert (table[table.outcome != "not testable"].outcome == "inconclusive").all()  # no runs: nothing decided


def test_a_claim_of_an_item_the_scale_leaves_out_says_why():
    """An item the paper's observations name as left out (``attrs["left_out"]``) gives its claims that reason;
    a claim of another item with no runs keeps the generic one."""
    import pandas as pd

    ledger = claims.load_ledger().head(0)
    row = dict.fromkeys(claims.COLUMNS, "")
    row.update(claim_id="awa.test.left", paper="awa", item="Table II", metric="LPIPS", direction="lower", treatment="A",
               reference="B", effect_form="relative", testable="yes")
    ledger = pd.concat([ledger, pd.DataFrame([row, {**row, "claim_id": "awa.test.other", "item": "Table I"}])])
    obs = pd.DataFrame(columns=list(claims.OBSERVATION_COLUMNS))
    obs.attrs["left_out"] = {"Table II": "not run at scale='cpu': the budget"}
    table = claims.decisions(ledger, {"awa": obs}, "cpu").set_index("claim_id")
    assert table.loc["awa.test.left", "outcome"] == "inconclusive"
    assert table.loc["awa.test.left", "reason"] == "not run at scale='cpu': the budget"
    assert table.loc["awa.test.other", "reason"].startswith("no stored runs pair")
