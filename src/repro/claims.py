r"""The ledger of the papers' claims and the one rule that decides each of them.

The ledger (``data/claims.csv``) lists every claim of the three papers that a table or figure
supports, with its primary metric, the direction the paper claims, the two arms compared, how
cells (hole bins, tasks, images) combine into one number per seed, and where the paper's own
numbers are (``data/paper_tables/``). It was committed before the runs it judges; its header
fixes the global settings below.

**The rule.** Let :math:`d_s` be the paired difference of seed :math:`s` (treatment vs
reference, both trained from the same seed, signed so that the paper's direction is positive and
expressed in the claim's ``effect_form``), :math:`\bar d` their mean over :math:`n` seeds and
:math:`[l, h]` the two-sided paired :math:`t` interval at level :data:`LEVEL`,

.. math::
    \bar d \pm t_{n-1,\,(1+\mathrm{level})/2}\; s_d / \sqrt{n}.

With :math:`E` the paper's effect (same form) and :math:`f` = :data:`FRACTION`, in this order:

1. *not testable* -- the ledger says the claim needs what does not exist offline (:data:`NOT_TESTABLE`);
2. *inconclusive* -- fewer than :data:`MIN_SEEDS` paired seeds (the interval, when there is one, is shown);
3. *contradicted* -- :math:`h < 0`, or :math:`h < f E` (the effect, if real, is much smaller than claimed);
4. *reproduced* -- :math:`l > 0`;
5. *inconclusive* -- anything else.

The unit of replication is the training run, so the interval is over seeds: it includes
seed-to-seed variation, which resampling test images alone would leave out. A claim is
*underpowered* when the interval's half-width exceeds :math:`|E|`: the run could not have seen
an effect of the paper's size. With :math:`K` decided claims, at most
:math:`K (1 - \mathrm{level}) / 2` of the true-null ones are expected to come out *reproduced* by
chance (one-sided error of each interval); :func:`expected_false_reproductions` states it.

FID decides nothing below :data:`FID_MIN_IMAGES` images per set: below the feature dimension
(2048) the covariance of the Inception features is rank-deficient, and the estimator's bias, which
shrinks like :math:`1/N`, dominates differences between methods (Chong & Forsyth 2020).
"""
from __future__ import annotations

import dataclasses
import enum
import fnmatch
import math
import re
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from repro import paper_tables
from repro.paths import data_dir

#: Two-sided level of every interval.
LEVEL = 0.95
#: An interval entirely below FRACTION x the paper's effect contradicts the claim.
FRACTION = 0.25
#: Fewer paired seeds than this and a claim is inconclusive whatever its interval.
MIN_SEEDS = 3
#: FID decides no claim on sets smaller than this (the Inception feature dimension).
FID_MIN_IMAGES = 2048
#: The only reasons a claim may be "not testable here".
NOT_TESTABLE = {
    "human raters": "the claim rests on a user study; no raters are available to a book",
    "dataset-specific number": "the claim is an absolute number on a dataset that does not exist offline",
}
#: How effects are expressed (signed so that the paper's direction is positive).
EFFECT_FORMS = ("relative", "absolute", "log_ratio")
COLUMNS = ("claim_id", "paper", "item", "chapter", "claim", "metric", "direction", "treatment", "reference",
           "combine", "cells", "paper_table", "paper_where", "paper_arms", "paper_values", "effect_form", "margin", "testable", "notes")


class Outcome(str, enum.Enum):
    REPRODUCED = "reproduced"
    CONTRADICTED = "contradicted"
    INCONCLUSIVE = "inconclusive"
    NOT_TESTABLE = "not testable"


@dataclasses.dataclass(frozen=True)
class Decision:
    """One claim's outcome and the numbers behind it (``nan`` where there are none)."""

    outcome: Outcome
    effect: float
    ci_low: float
    ci_high: float
    seeds: int
    paper_effect: float
    reason: str = ""

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2

    @property
    def underpowered(self) -> bool:
        """The interval is wider than the paper's effect: an effect of that size could not be seen."""
        return bool(np.isfinite(self.paper_effect) and not self.half_width <= abs(self.paper_effect))


# ---- the rule ---------------------------------------------------------------------------------
def signed_effect(treatment: "np.ndarray | float", reference: "np.ndarray | float", direction: str, form: str) -> np.ndarray:
    """The effect of treatment over reference in ``form``, positive in the claimed ``direction``."""
    if direction not in ("lower", "higher"):
        raise ValueError(f"direction must be 'lower' or 'higher', got {direction!r}")
    t, r = np.asarray(treatment, dtype=float), np.asarray(reference, dtype=float)
    sign = 1.0 if direction == "higher" else -1.0
    if form == "absolute":
        return sign * (t - r)
    if form == "relative":
        return sign * (t - r) / np.abs(r)
    if form == "log_ratio":
        return sign * (np.log(t) - np.log(r))
    raise ValueError(f"effect_form must be one of {', '.join(EFFECT_FORMS)}, got {form!r}")


def paired_interval(differences: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Mean of per-seed paired differences and its two-sided ``t`` interval (``nan`` bounds below 2 seeds;
    a zero-width interval when every seed gives the same difference)."""
    d = np.asarray(differences, dtype=float)
    if d.size == 0 or not np.isfinite(d).all():
        return float("nan"), float("nan"), float("nan")
    mean = float(d.mean())
    if d.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + level) / 2, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return mean, mean - half, mean + half


def decide(differences: Sequence[float], paper_effect: float = float("nan"), testable: str = "yes",
           level: float = LEVEL, fraction: float = FRACTION, min_seeds: int = MIN_SEEDS,
           metric: str = "", n_images: int = 0) -> Decision:
    """Apply the rule (module docstring) to one claim's per-seed paired differences; an FID
    computed on fewer than :data:`FID_MIN_IMAGES` images leaves the claim inconclusive."""
    if testable != "yes":
        reason = testable.removeprefix("no:").strip()
        if reason not in NOT_TESTABLE:
            raise ValueError(f"a claim is not testable only for {sorted(NOT_TESTABLE)}, got {testable!r}")
        return Decision(Outcome.NOT_TESTABLE, float("nan"), float("nan"), float("nan"), 0, paper_effect, NOT_TESTABLE[reason])
    mean, low, high = paired_interval(differences, level)
    n = len(differences)
    if metric == "FID" and n_images < FID_MIN_IMAGES:
        return Decision(Outcome.INCONCLUSIVE, mean, low, high, n, paper_effect,
                        f"FID on {n_images} images (it decides nothing below {FID_MIN_IMAGES})")
    if n < min_seeds or not np.isfinite(mean):
        why = f"{n} paired seed{'s' if n != 1 else ''} (the rule needs {min_seeds})" if np.isfinite(mean) or n == 0 else "a run diverged"
        return Decision(Outcome.INCONCLUSIVE, mean, low, high, n, paper_effect, why)
    if high < 0 or (np.isfinite(paper_effect) and paper_effect > 0 and high < fraction * paper_effect):
        return Decision(Outcome.CONTRADICTED, mean, low, high, n, paper_effect,
                        "the interval lies below zero" if high < 0 else f"the interval lies below {fraction:g} x the paper's effect")
    if low > 0:
        return Decision(Outcome.REPRODUCED, mean, low, high, n, paper_effect, "the interval lies above zero")
    return Decision(Outcome.INCONCLUSIVE, mean, low, high, n, paper_effect, "the interval contains zero")


def expected_false_reproductions(n_decided: int, level: float = LEVEL) -> float:
    """Upper bound on the expected number of true-null claims that come out *reproduced* by chance."""
    return n_decided * (1 - level) / 2


# ---- the ledger ---------------------------------------------------------------------------------
def ledger_path():
    return data_dir() / "claims.csv"


def load_ledger(path=None) -> pd.DataFrame:
    """The ledger as a DataFrame (one row per claim, in file order), checked: unique ids, known
    papers, directions, effect forms and not-testable reasons. ``.attrs`` holds its header lines."""
    path = ledger_path() if path is None else path
    meta = paper_tables.read_header(path)
    frame = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    if tuple(frame.columns) != COLUMNS:
        raise ValueError(f"{path}: columns must be {', '.join(COLUMNS)}; got {', '.join(frame.columns)}")
    problems = []
    duplicated = frame.claim_id[frame.claim_id.duplicated()].tolist()
    if duplicated:
        problems.append(f"duplicate claim ids {duplicated}")
    for row in frame.itertuples():
        if row.paper not in paper_tables.PAPERS:
            problems.append(f"{row.claim_id}: unknown paper {row.paper!r}")
        if row.direction not in ("lower", "higher"):
            problems.append(f"{row.claim_id}: direction must be 'lower' or 'higher'")
        if row.effect_form not in EFFECT_FORMS:
            problems.append(f"{row.claim_id}: effect_form must be one of {EFFECT_FORMS}")
        if row.testable != "yes" and row.testable.removeprefix("no:").strip() not in NOT_TESTABLE:
            problems.append(f"{row.claim_id}: testable must be 'yes' or 'no: <{'|'.join(NOT_TESTABLE)}>'")
        if row.margin and not _is_non_negative_number(row.margin):
            problems.append(f"{row.claim_id}: margin must be a non-negative number or empty")
        if not row.claim_id.startswith(f"{row.paper}."):
            problems.append(f"{row.claim_id}: the id must start with the paper ({row.paper}.)")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    frame.attrs.update(meta)
    return frame


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _is_non_negative_number(text: str) -> bool:
    return _is_number(text) and float(text) >= 0


def _paper_arms(row) -> tuple[str, str]:
    """The paper's names of the two arms: ``paper arms: X vs Y`` in the notes, else ours."""
    match = re.search(r"paper arms:\s*(.+?)\s+vs\s+([^;]+?)\s*(?:;|$)", row.notes)
    return (match.group(1), match.group(2)) if match else (row.treatment, row.reference)


def _where(table: pd.DataFrame, where: str) -> pd.DataFrame:
    for clause in filter(None, (c.strip() for c in where.split(";"))):
        column, _, value = clause.partition("=")
        if column not in table.columns:
            raise ValueError(f"no column {column!r} in the paper table; columns: {', '.join(table.columns)}")
        table = table[table[column].astype(str) == value]
    return table


def paper_effect(row) -> float:
    """The paper's effect for one ledger row, computed from its table in ``data/paper_tables/``:
    the mean over the selected cells of the signed per-cell effect (a numeric reference arm, as in
    ``paper arms: ResNet-4 vs 0``, is a fixed floor), plus the row's margin; ``nan`` when no table
    gives the numbers, or a cell is illegible."""
    if not row.paper_table:
        return float("nan")
    stem = row.paper_table.removesuffix(".csv")
    paper, _, number = stem.partition("_table")
    table = _where(paper_tables.load(paper, number), row.paper_where)
    treatment, reference = _paper_arms(row)
    if row.paper_arms == "columns":
        t, r = table[treatment], table[reference]
    elif row.paper_arms.startswith("rows:"):
        arm = row.paper_arms.removeprefix("rows:")
        values = [v for v in row.paper_values.split(";") if v]
        pick = lambda name: table[table[arm].astype(str) == name][values].to_numpy(dtype=float)  # noqa: E731
        t = pick(treatment)
        r = np.full_like(t, float(reference)) if _is_number(reference) else pick(reference)  # "vs 0": a fixed floor
        if t.shape != r.shape or t.size == 0:
            raise ValueError(f"{row.claim_id}: the paper table has no matching {treatment!r}/{reference!r} rows")
    else:
        raise ValueError(f"{row.claim_id}: paper_arms must be 'columns' or 'rows:<column>', got {row.paper_arms!r}")
    effects = signed_effect(np.asarray(t, dtype=float).ravel(), np.asarray(r, dtype=float).ravel(), row.direction, row.effect_form)
    return float(effects.mean()) + margin(row) if effects.size and np.isfinite(effects).all() else float("nan")


def margin(row) -> float:
    """A parity claim's tolerance (``margin`` column; 0 for a claim of improvement), added to every effect."""
    return float(row.margin) if row.margin else 0.0


#: Columns of an observation frame (:func:`paired_differences`): one row per (seed, arm, metric, cell).
OBSERVATION_COLUMNS = ("seed", "arm", "metric", "cell", "value", "n")


def observe(chapters: "dict[str, Callable[..., list[dict]]]", scale: str, data_root: "str | None" = None,
            only: "tuple | None" = None, **kwargs) -> pd.DataFrame:
    """The observation rows of a paper's chapters (``chapters``: chapter -> ``fn(scale, data_root,
    **kwargs)`` returning rows), of those in ``only`` when given, as one frame."""
    rows = [r for name, fn in chapters.items() if only is None or name in only for r in fn(scale, data_root, **kwargs)]
    return pd.DataFrame(rows, columns=list(OBSERVATION_COLUMNS))


def paired_differences(observations: pd.DataFrame, row) -> tuple[list[float], int]:
    """Per-seed paired effects of ``row.treatment`` over ``row.reference`` on ``row.metric``, each
    the mean over the cells (hole bins, tasks, images) both arms have in that seed among those
    matching ``row.cells`` (a shell pattern; empty: all), and the number
    of test images behind one cell. A reference observed once (seed ``-1``: a classical method,
    which has no seed) pairs with every seed of the treatment."""
    frame = observations[observations.metric == row.metric]
    if row.cells:
        frame = frame[np.array([fnmatch.fnmatchcase(c, row.cells) for c in frame.cell], dtype=bool)]
    treat, ref = frame[frame.arm == row.treatment], frame[frame.arm == row.reference]
    if treat.empty or ref.empty:
        return [], 0
    if (ref.seed == -1).all():
        ref = pd.concat([ref.assign(seed=s) for s in treat.seed.unique()])
    joined = treat.merge(ref, on=["seed", "cell"], suffixes=("_t", "_r"))
    joined["effect"] = signed_effect(joined.value_t, joined.value_r, row.direction, row.effect_form)
    per_seed = joined.groupby("seed", sort=True).effect.mean() + margin(row)
    return per_seed.tolist(), int(joined[["n_t", "n_r"]].min().min()) if len(joined) else 0


def decisions(ledger: pd.DataFrame, observations: "dict[str, pd.DataFrame]", scale: str) -> pd.DataFrame:
    """The ledger with every claim decided by :func:`decide` from the observations of its paper
    (``observations[paper]``, :data:`OBSERVATION_COLUMNS`; its ``.attrs["left_out"]``, item -> reason,
    names the items its scale does not run: a claim of such an item with no observations gets that reason)."""
    rows = []
    for row in ledger.itertuples():
        effect = paper_effect(row)
        differences, n = paired_differences(observations[row.paper], row) if row.testable == "yes" else ([], 0)
        d = decide(differences, effect, row.testable, metric=row.metric, n_images=n)
        if row.testable == "yes" and not differences:
            left_out = observations[row.paper].attrs.get("left_out", {})  # items the scale does not run, with the reason
            d = dataclasses.replace(d, reason=left_out.get(row.item) or (
                f"no stored runs pair {row.treatment!r} with {row.reference!r} on {row.metric}"
                f"{f' in cells {row.cells}' if row.cells else ''} (not run at this scale or not run here)"))
        rows.append({"paper": row.paper, "item": row.item, "claim_id": row.claim_id, "claim": row.claim,
                     "metric": row.metric, "direction": row.direction, "paper_effect": effect, "effect": d.effect,
                     "ci_low": d.ci_low, "ci_high": d.ci_high, "seeds": d.seeds, "n": n, "outcome": d.outcome.value,
                     "scale": scale, "underpowered": d.underpowered, "reason": d.reason, "chapter": row.chapter})
    return pd.DataFrame(rows)
