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

from repro.pgn import experiments as pe
from repro.pgn.tables import METRICS, PGN_NAMES, heads_quality, training_cosine, training_logs

#: The cost benchmark's model names -> the source names the other tables use.
COST_ARMS = {"VGG-16 PL": "PL-VGG-16", "AlexNet PL": "PL-AlexNet"}


def _per_image(seed: int, arm: str, quality: dict, task: str) -> list[dict]:
    return [{"seed": seed, "arm": arm, "metric": m, "cell": f"{task}/{i}", "value": float(v), "n": len(quality[m])}
            for m in METRICS for i, v in enumerate(quality[m])]


def observations(scale: str, data_root: "str | None" = None, seed: int = 0) -> pd.DataFrame:
    """Every PGN table's stored runs at ``scale`` as observation rows."""
    kw = dict(seed=seed, data_root=data_root)
    cost = pe.cost(pe.cost_config(scale, **kw))
    dip = pe.dip(pe.dip_config(scale, **kw))
    inversion = pe.inversion(pe.inversion_config(scale, **kw))
    heads = pe.heads(pe.heads_config(scale, **kw))
    rows = []
    for r in cost["rows"]:
        arm = COST_ARMS.get(r["model"], r["model"])
        for metric, key in (("params_M", "params_M"), ("MACs_B", "GMACs"), ("seconds", "seconds"), ("peak_MiB", "peak_MiB")):
            if r.get(key) is not None and np.isfinite(r[key]):
                rows.append({"seed": seed, "arm": arm, "metric": metric, "cell": f"cost/{r['size']}", "value": float(r[key]), "n": r["batch"]})
    for name, run in dip["runs"].items():
        outcomes = [s["outcome"] for s in run["stability"]]
        for outcome in ("diverged", "stagnated", "successful"):
            rows.append({"seed": seed, "arm": name, "metric": f"{outcome}_n", "cell": "t5/all",
                         "value": 100.0 * outcomes.count(outcome) / len(outcomes), "n": len(outcomes)})
        rows += _per_image(seed, name, run["quality"], "dip")
    for name, run in inversion["runs"].items():
        rows += _per_image(seed, name, run["quality"], "im2sg")
    for weight, run in inversion["sweep"].items():
        rows += _per_image(seed, f"λ_MSE = {weight}", run["quality"], "im2sg")
    for split in ("train", "holdout"):
        for name, quality in heads_quality(heads, split).items():
            rows += _per_image(seed, name, quality, f"heads_{split}")
    cosines = {"dip": {n: dip["runs"][n]["cosine"] for n in PGN_NAMES}, "im2sg": {n: inversion["runs"][n]["cosine"] for n in PGN_NAMES},
               "heads": {n: heads["runs"][n]["cosine"] for n in PGN_NAMES}}
    untrained = {"dip": dip["untrained_cosine"], "im2sg": inversion["untrained_cosine"], "heads": heads["untrained_cosine"]}
    for task in cosines:
        for arm, values in [*cosines[task].items(), ("untrained ResNet-4", untrained[task])]:
            rows += [{"seed": seed, "arm": arm, "metric": "cosine", "cell": f"{task}/{i}", "value": float(v), "n": len(values)}
                     for i, v in enumerate(values)]
    cosines["train"] = {n: training_cosine(log) for n, log in training_logs(scale, pe.PGNS).items()}
    for task, per_pgn in cosines.items():
        rows += [{"seed": seed, "arm": task, "metric": "task_cosine", "cell": f"t4/{name}", "value": float(np.mean(v)), "n": len(v)}
                 for name, v in per_pgn.items()]
    return pd.DataFrame(rows)
