r"""Building the book's tables: paper vs ours side by side, verdicts computed from data.

* :func:`verdict` — one claim, whether it holds, and the evidence (e.g. ``"yes, 3/3 seeds"``).
* :func:`verdict_table` — verdicts as a DataFrame for display.
* :func:`side_by_side` — the paper's numbers (from :mod:`repro.paper_tables`) next to ours.
* :func:`deviations` — the committed list of deviations from the papers (``data/deviations.csv``).
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

import pandas as pd

from repro.paths import data_dir


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
