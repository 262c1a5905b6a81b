"""The ledger decided: every claim of the three papers with its outcome at one scale.

Each paper's ``claims`` module turns the chapters' stored runs into observations (seed, arm,
metric, cell, value, n); :func:`repro.claims.decisions` applies the one rule to every row of the
ledger. ``repro claims`` computes nothing: the runs are read inside
:func:`repro.store.stored_only`, and a missing one is an error naming the chapter that produces
it. The book's claims page (``book/claims.ipynb``) shows the same table and, like every chapter,
runs what is not stored yet.
"""
from __future__ import annotations

import contextlib

import pandas as pd

from repro import claims, report
from repro.awa import claims as awa_claims
from repro.data.folders import ENTRY_POINTS
from repro.mtadam import claims as mtadam_claims
from repro.pgn import claims as pgn_claims
from repro.store import MissingResultError, stored_only

OBSERVERS = {"awa": awa_claims.observations, "pgn": pgn_claims.observations, "mtadam": mtadam_claims.observations}
OBSERVER_CHAPTERS = {"awa": awa_claims.CHAPTERS, "pgn": pgn_claims.CHAPTERS, "mtadam": mtadam_claims.CHAPTERS}
#: The columns of ``repro claims --format csv``.
CSV_COLUMNS = ("paper", "item", "claim_id", "claim", "metric", "direction", "paper_effect", "effect", "ci_low",
               "ci_high", "seeds", "n", "outcome", "scale", "underpowered", "reason")

#: Metrics measured in time or memory: they depend on the machine (the page shows them apart).
MACHINE_DEPENDENT = ("seconds", "peak_MiB")


class MissingRunsError(RuntimeError):
    """The ledger needs a run the result store does not hold."""


def observations(scale: str, data_root: "str | None" = None, compute: bool = False,
                 chapters: "tuple | None" = None) -> dict[str, pd.DataFrame]:
    """Every paper's observations from the stored runs at ``scale`` (of ``chapters`` only, when
    given). Nothing is computed unless ``compute=True`` (a chapter or the claims page: a run not
    stored yet is run)."""
    out = {}
    with contextlib.nullcontext() if compute else stored_only():
        for paper, observe in OBSERVERS.items():
            try:
                out[paper] = observe(scale, data_root, chapters)
            except MissingResultError as missing:
                chapter = ENTRY_POINTS.get(missing.name, paper)
                raise MissingRunsError(
                    f"{missing}: the claims of {paper} need it; run its chapter first ({chapter}: "
                    f"`repro run <chapter> --scale {scale}`), or the whole book (`make book` at scale=cpu)") from None
    return out


def decided(scale: str = "cpu", data_root: "str | None" = None, compute: bool = False,
            chapters: "tuple | None" = None) -> pd.DataFrame:
    """The ledger (the rows of ``chapters``, when given), every claim decided from the runs at
    ``scale`` (:func:`observations`)."""
    ledger = claims.load_ledger()
    if chapters is not None:
        ledger = ledger[ledger.chapter.isin(chapters)]
    return claims.decisions(ledger, observations(scale, data_root, compute, tuple(chapters) if chapters else None), scale)


def chapter(name: str, scale: str, data_root: "str | None" = None, items: "tuple | None" = None,
            timed: "bool | None" = False) -> pd.DataFrame:
    """A chapter's verdicts: its slice of the ledger (the rows of ``items`` only, when given),
    decided by the same code as the claims page (:func:`page_table`) from the chapter's runs
    (missing ones are run). ``timed``: only the time and memory claims (True), only the others
    (False, the default: they do not depend on the machine), or both (None)."""
    table = decided(scale, data_root, compute=True, chapters=(name,))
    if items is not None:
        table = table[table["item"].isin(items)]
    if timed is not None:
        table = table[table.metric.isin(MACHINE_DEPENDENT) == timed]
    return page_table(table)


def part(paper: str, scale: str, data_root: "str | None" = None) -> pd.DataFrame:
    """Every verdict of one paper (its closing page), from the runs of its chapters; time and
    memory claims left to the chapter that measures them."""
    table = decided(scale, data_root, compute=True, chapters=tuple(OBSERVER_CHAPTERS[paper]))
    return page_table(table[~table.metric.isin(MACHINE_DEPENDENT)])


def counts(table: pd.DataFrame) -> pd.DataFrame:
    """Claims per paper and outcome (every outcome a column, totals last)."""
    order = [o.value for o in claims.Outcome]
    out = pd.crosstab(table.paper, table.outcome).reindex(columns=order, fill_value=0)
    out.loc["all"] = out.sum()
    out["claims"] = out.sum(axis=1)
    return out


def _cell(value) -> str:
    """A Markdown table cell: :func:`repro.report.cell` (3 significant digits, blanks as "–"), pipes escaped."""
    return report.cell(value).replace("|", "\\|")


def _markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    return "\n".join([header, rule] + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)])


def markdown(table: pd.DataFrame) -> str:
    """The decided ledger as a Markdown table (numbers to 3 significant digits, blanks as "–"),
    then the counts per paper and outcome."""
    shown = table[["paper", "item", "claim_id", "outcome", "paper_effect", "effect", "ci_low", "ci_high", "seeds", "n"]]
    return _markdown_table(shown) + "\n\n" + _markdown_table(counts(table).reset_index())


def page_table(table: pd.DataFrame, paper: "str | None" = None) -> pd.DataFrame:
    """The claims page's view: one row per claim (of one paper), results first, blanks as "–"."""
    rows = table if paper is None else table[table.paper == paper]
    view = rows[["item", "claim_id", "claim", "outcome", "paper_effect", "effect", "ci_low", "ci_high", "seeds", "n",
                 "underpowered", "reason"]].copy()
    for column in ("paper_effect", "effect", "ci_low", "ci_high"):
        view[column] = view[column].map(_cell)
    view["underpowered"] = view["underpowered"].map({True: "yes", False: ""})
    return view.set_index("claim_id")
