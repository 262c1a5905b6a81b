"""PGN's stored runs as observations for the claims ledger (:mod:`repro.claims`).

One row per (seed, arm, metric, cell). Arms are the gradient sources (``MSE``, ``PL-VGG-16``,
``PL-AlexNet``, ``ResNet-4`` ..., the Table 5 variants, ``untrained ResNet-4``), the cost
benchmark's models under the same names, the inversion's ``λ_MSE = <w>`` sweep, and, for Table
4's comparison between tasks, the tasks themselves (``train``, ``dip``, ``im2sg``, ``heads``: the
mean cosine of one PGN, cell = that PGN). Cells: ``cost/<size>``, ``t5/all`` (outcome counts per 100
images, the paper's N), ``dip/<i>``, ``im2sg/<i>``, ``heads_train/<i>``, ``heads_holdout/<i>``
(per test image), ``t4/<PGN>``. Every run has the chapter's one seed. Read inside
:func:`repro.store.stored_only`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from repro.claims import observe
from repro.pgn import experiments as pe
from repro.pgn.tables import METRICS, PGN_NAMES, heads_quality, training_cosine, training_logs

#: The cost benchmark's model names -> the source names the other tables use.
COST_ARMS = {"VGG-16 PL": "PL-VGG-16", "AlexNet PL": "PL-AlexNet"}


def _per_image(seed: int, arm: str, quality: dict, task: str) -> list[dict]:
    return [{"seed": seed, "arm": arm, "metric": m, "cell": f"{task}/{i}", "value": float(v), "n": len(quality[m])}
            for m in METRICS for i, v in enumerate(quality[m])]


def _runs(scale: str, data_root, seed: int, *names: str) -> list:
    kw = dict(seed=seed, data_root=data_root)
    return [getattr(pe, name)(getattr(pe, f"{name}_config")(scale, **kw)) for name in names]


def _cost(scale: str, data_root, seed: int) -> list[dict]:
    (cost,), rows = _runs(scale, data_root, seed, "cost"), []
    for r in cost["rows"]:
        arm = COST_ARMS.get(r["model"], r["model"])
        for metric, key in (("params_M", "params_M"), ("MACs_B", "GMACs"), ("seconds", "seconds"), ("peak_MiB", "peak_MiB")):
            if r.get(key) is not None and np.isfinite(r[key]):
                rows.append({"seed": seed, "arm": arm, "metric": metric, "cell": f"cost/{r['size']}", "value": float(r[key]), "n": r["batch"]})
    return rows


def _dip(scale: str, data_root, seed: int) -> list[dict]:
    (dip,), rows = _runs(scale, data_root, seed, "dip"), []
    for name, run in dip["runs"].items():
        outcomes = [s["outcome"] for s in run["stability"]]
        for outcome in ("diverged", "stagnated", "successful"):
            rows.append({"seed": seed, "arm": name, "metric": f"{outcome}_n", "cell": "t5/all",
                         "value": 100.0 * outcomes.count(outcome) / len(outcomes), "n": len(outcomes)})
        rows += _per_image(seed, name, run["quality"], "dip")
    return rows


def _inversion(scale: str, data_root, seed: int) -> list[dict]:
    (inversion,), rows = _runs(scale, data_root, seed, "inversion"), []
    for name, run in inversion["runs"].items():
        rows += _per_image(seed, name, run["quality"], "im2sg")
    for weight, run in inversion["sweep"].items():
        rows += _per_image(seed, f"λ_MSE = {weight}", run["quality"], "im2sg")
    return rows


def _heads(scale: str, data_root, seed: int) -> list[dict]:
    (heads,), rows = _runs(scale, data_root, seed, "heads"), []
    for split in ("train", "holdout"):
        for name, quality in heads_quality(heads, split).items():
            rows += _per_image(seed, name, quality, f"heads_{split}")
    return rows


def _cosines(scale: str, data_root, seed: int) -> list[dict]:
    """Table 4: each PGN's cosine per image and task, the untrained twin's, and the tasks' means."""
    dip, inversion, heads = _runs(scale, data_root, seed, "dip", "inversion", "heads")
    cosines = {"dip": {n: dip["runs"][n]["cosine"] for n in PGN_NAMES}, "im2sg": {n: inversion["runs"][n]["cosine"] for n in PGN_NAMES},
               "heads": {n: heads["runs"][n]["cosine"] for n in PGN_NAMES}}
    untrained = {"dip": dip["untrained_cosine"], "im2sg": inversion["untrained_cosine"], "heads": heads["untrained_cosine"]}
    rows = []
    for task in cosines:
        for arm, values in [*cosines[task].items(), ("untrained ResNet-4", untrained[task])]:
            rows += [{"seed": seed, "arm": arm, "metric": "cosine", "cell": f"{task}/{i}", "value": float(v), "n": len(values)}
                     for i, v in enumerate(values)]
    cosines["train"] = {n: training_cosine(log) for n, log in training_logs(scale, pe.PGNS).items()}
    for task, per_pgn in cosines.items():
        rows += [{"seed": seed, "arm": task, "metric": "task_cosine", "cell": f"t4/{name}", "value": float(np.mean(v)), "n": len(v)}
                 for name, v in per_pgn.items()]
    return rows


#: The chapter whose runs test a claim (the ledger's ``chapter``) -> its observations.
CHAPTERS = {"pgn_01_gradient_networks": _cost, "pgn_02_deep_image_prior": _dip, "pgn_03_inversion": _inversion,
            "pgn_04_talking_heads": _heads, "pgn_05_summary": _cosines}


def observations(scale: str, data_root: "str | None" = None, chapters: "tuple | None" = None, seed: int = 0) -> pd.DataFrame:
    """The stored runs of ``chapters`` (default: every PGN chapter) at ``scale`` as observation rows."""
    return observe(CHAPTERS, scale, data_root, chapters, seed=seed)
