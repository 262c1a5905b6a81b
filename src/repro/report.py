r"""Building the book's tables: paper vs ours side by side, verdicts computed from data.

* :func:`verdict` — one claim, whether it holds, and the evidence (e.g. ``"yes, 3/3 seeds"``).
* :func:`verdict_table` — verdicts as a DataFrame for display.
* :func:`side_by_side` — the paper's numbers (from :mod:`repro.paper_tables`) next to ours.
* :func:`deviations` — the committed list of deviations from the papers (``data/deviations.csv``).
* :func:`seed_spread` — one method's seed-to-seed spread (:data:`SEEDS`), the noise a comparison must beat;
  :func:`at_seeds` gathers its runs.
* :func:`shown` / :func:`cell` — a table as the reader sees it: numbers rounded, blanks as "–".
"""
from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from repro.paths import data_dir

#: The seeds of every reference method's spread under a table (the ledger's minimum, ``claims.MIN_SEEDS``,
#: paired: seed s fixes the initialisation and the batches of every arm).
SEEDS = (0, 1, 2)
#: How a missing value (a cell the paper does not report, a count with no member) is shown.
BLANK = "–"


@dataclasses.dataclass(frozen=True)
class Verdict:
    claim: str
    holds: bool
    evidence: str

    def as_row(self) -> dict:
        return {"claim": self.claim, "verdict": "yes" if self.holds else "no", "evidence": self.evidence}


def verdict(claim: str, checks: "Iterable[bool] | bool", unit: str = "checks", detail: str = "") -> Verdict:
    """A claim holds when every check holds; evidence reads ``"3/3 seeds"`` (+ ``detail``)."""
    results = [bool(checks)] if isinstance(checks, bool) else [bool(c) for c in checks]
    if not results:
        raise ValueError(f"claim {claim!r} has no checks")
    evidence = f"{sum(results)}/{len(results)} {unit}" + (f"; {detail}" if detail else "")
    return Verdict(claim, all(results), evidence)


def verdict_table(verdicts: Iterable[Verdict]) -> pd.DataFrame:
    return pd.DataFrame([v.as_row() for v in verdicts]).set_index("claim")


def side_by_side(paper: pd.DataFrame, ours: pd.DataFrame, on: "str | list[str]", metrics: list[str]) -> pd.DataFrame:
    """The paper's and our rows joined on ``on``, in the paper's row order (rows only one side
    has come last); columns ``(metric, "paper" | "ours")``."""
    keys = [on] if isinstance(on, str) else list(on)
    left = paper[keys + metrics].merge(ours[keys + metrics], on=keys, how="left", suffixes=(" paper", " ours"))
    extra = ours[~ours.set_index(keys).index.isin(paper.set_index(keys).index)][keys + metrics]
    extra = extra.rename(columns={m: f"{m} ours" for m in metrics})
    merged = pd.concat([left, extra], ignore_index=True).set_index(keys)
    out = pd.DataFrame({(m, who): merged[f"{m} {who}"] for m in metrics for who in ("paper", "ours")})
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def deviations(papers: "Iterable[str] | None" = None) -> pd.DataFrame:
    """Known deviations from the papers (``data/deviations.csv``), optionally for some papers."""
    table = pd.read_csv(data_dir() / "deviations.csv", comment="#")
    if papers is not None:
        table = table[table.paper.isin(list(papers) + ["all"])]
    return table.reset_index(drop=True)


def at_seeds(cfg, own, other) -> dict:
    """``{seed: result}`` at every seed of :data:`SEEDS`: ``own(cfg)`` at ``cfg.seed`` (the table's own run)
    and ``other`` (the reference run alone) on ``cfg`` with each other seed."""
    return {s: (own if s == cfg.seed else other)(dataclasses.replace(cfg, seed=s)) for s in SEEDS}


def seed_spread(by_seed: "Mapping[int, Mapping[str, float]]", metrics: "Sequence[str] | None" = None) -> pd.DataFrame:
    r"""One method's seed-to-seed spread: a row per metric with its value at each seed, the mean, the
    sample standard deviation :math:`s = \sqrt{\sum_i (x_i - \bar x)^2 / (k - 1)}` over the :math:`k`
    seeds (NaN for one seed) and the range (max - min). ``by_seed`` maps a seed to the run's metrics."""
    if not by_seed:
        raise ValueError("seed_spread needs at least one seed's metrics")
    seeds = sorted(by_seed)
    metrics = list(metrics or by_seed[seeds[0]])
    values = np.array([[float(by_seed[s][m]) for s in seeds] for m in metrics])
    out = pd.DataFrame(values, index=pd.Index(metrics, name="metric"), columns=[f"seed {s}" for s in seeds])
    out["mean"] = values.mean(axis=1)
    out["sd"] = values.std(axis=1, ddof=1) if len(seeds) > 1 else np.nan
    out["range"] = values.max(axis=1) - values.min(axis=1)
    return out


def cell(value, digits: "int | None" = None) -> str:
    """One table cell as text: a float to ``digits`` decimals (3 significant digits when ``None``),
    a missing value as :data:`BLANK`, anything else as ``str``."""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return BLANK
        return f"{value:.3g}" if digits is None else f"{value:.{digits}f}"
    if value is None or value is pd.NA:
        return BLANK
    return str(value)


def shown(table: pd.DataFrame, digits: "int | None" = None) -> pd.DataFrame:
    """``table`` as the reader sees it (every cell through :func:`cell`): the values' text, blanks as "–"."""
    return table.apply(lambda column: column.map(lambda v: cell(v, digits)))
