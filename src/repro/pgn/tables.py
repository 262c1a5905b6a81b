r"""PGN's tables and figures, assembled from stored runs of :mod:`repro.pgn.experiments`.

Each ``table*``/``fig*`` function takes a stored result (or ``scale``) and returns plain data (a
DataFrame, or images for a figure); the claims they support are decided by the ledger's one rule
(:mod:`repro.claims`, from :mod:`repro.pgn.claims`' observations). Our rows carry the paper's row names where a stand-in is used, so that
:func:`repro.report.side_by_side` can put them next to the paper's (:data:`STAND_INS` says which).

=====================  ==============================================================
Tables 1/6, Figs. 2/8  :func:`cost_frame`, :func:`cost_curves`, :func:`cost_ratios`
Table 5                :func:`stability_frame`
Tables 2/7             :func:`quality_frame` on the DIP and inversion runs
Tables 3/8             :func:`quality_frame` on the talking-heads runs (train / holdout)
Table 4                :func:`cosine_frame`
Figs. 7/14             :func:`proxy_targets`
Fig. 5 (stand-in)      :func:`pairwise_wins` (LPIPS, not people)
under Tables 2/3/5     :func:`reference_spread`, :func:`stability_spread`: PL-VGG-16's seed-to-seed spread
=====================  ==============================================================
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from repro import report
from repro.config import parse_scale
from repro.data.images import to_uint8_images
from repro.pgn.experiments import ALL_PGNS, BASELINES, PGNS, REFERENCE, pgn_scale
from repro.pgn import checkpoints
from repro.pgn.pgn import denormalize, normalize

#: Our rows -> the paper's row names (the paper's networks that are not offline, and their stand-ins).
STAND_INS = {"VGG-16 PL": "VGG-19", "AlexNet PL": "VGG-11", "PL-VGG-16": "PL-VGG-19", "PL-AlexNet": "PL-VGG-11"}
#: Display label of a paper row whose network we replaced.
LABELS = {"VGG-19": "VGG-19 (ours: VGG-16)", "VGG-11": "VGG-11 (ours: AlexNet)",
          "PL-VGG-19": "PL-VGG-19 (ours: PL-VGG-16)", "PL-VGG-11": "PL-VGG-11 (ours: PL-AlexNet)"}
METRICS = ("MSEx1e3", "PL", "LPIPS")
PGN_NAMES = tuple(PGNS)


def paper_names(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rename our stand-in rows to the paper's names (for joining with the paper's table)."""
    out = frame.copy()
    out[column] = out[column].replace(STAND_INS)
    return out


def relabel(table: pd.DataFrame) -> pd.DataFrame:
    """Index labels of a side-by-side table that say what stood in for the paper's network."""
    return table.rename(index=LABELS)


# ---- Tables 1/6, Figs. 2/8 ----------------------------------------------------------------------------
def cost_frame(cost: dict) -> pd.DataFrame:
    """One row per model: parameters (M) and MACs (G per image at the MAC resolution), paper's names."""
    rows = {r["model"]: {"model": r["model"], "params_M": r["params_M"], "MACs_B": r["GMACs"]} for r in cost["rows"]}
    return paper_names(pd.DataFrame(rows.values()), "model")


def cost_curves(cost: dict) -> pd.DataFrame:
    """Long form: model, size, seconds, peak_MiB (Figs. 2/8)."""
    return pd.DataFrame(cost["rows"])[["model", "size", "batch", "seconds", "peak_MiB"]]


def cost_ratios(cost: dict, size: "int | None" = None) -> pd.DataFrame:
    """At ``size`` (default the largest): each model's time and peak memory as a ratio to VGG-16's."""
    curves = cost_curves(cost)
    size = size or int(curves["size"].max())
    at = curves[curves["size"] == size].set_index("model")
    ref = at.loc["VGG-16 PL"]
    return pd.DataFrame({"seconds": at["seconds"], "peak_MiB": at["peak_MiB"],
                         "speed-up vs VGG-16": ref["seconds"] / at["seconds"],
                         "memory saving vs VGG-16": ref["peak_MiB"] / at["peak_MiB"]})


# ---- Table 5 -------------------------------------------------------------------------------------------
TABLE5_ROWS = {"Direct grad. ResNet-4": ("Direct grad.", "ResNet-8"), "Unconstr. proxy ResNet-4": ("Unconstr. proxy", "ResNet-8"),
               **{name: ("Constrained proxy", name) for name in PGN_NAMES}}


def _final_over_best(run: dict) -> float:
    """A DIP run's final true perceptual loss over its best, averaged over images."""
    curves = np.asarray(run["perceptual"], dtype=float)  # images x tracked iterations
    return float(np.mean(curves[:, -1] / np.nanmin(curves, axis=1)))


def stability_spread(runs: dict) -> pd.DataFrame:
    """Table 5's noise: the seed spread of :data:`REFERENCE`'s DIP outcome counts and final/best ratio,
    from ``{seed: DIP result}`` (:func:`repro.pgn.experiments.reference_runs` of :func:`~repro.pgn.experiments.dip`)."""
    def row(result):
        run = result["runs"][REFERENCE]
        outcomes = [s["outcome"] for s in run["stability"]]
        return {**{f"{o}_n": outcomes.count(o) for o in ("diverged", "stagnated", "successful")},
                "final_over_best": _final_over_best(run)}
    return report.seed_spread({s: row(r) for s, r in runs.items()})


def stability_frame(dip: dict) -> pd.DataFrame:
    """Table 5 for our DIP runs: per PGN, counts of diverged / stagnated / successful images and the
    averages of last/best iteration and perceptual loss, in the paper's columns."""
    rows = []
    for name, (method, paper_backbone) in TABLE5_ROWS.items():
        stab = pd.DataFrame(dip["runs"][name]["stability"])
        row = {"method": method, "backbone": paper_backbone, "ours": name.split()[-1]}
        for outcome in ("diverged", "stagnated", "successful"):
            part = stab[stab.outcome == outcome]
            row[f"{outcome}_n"] = len(part)
            cols = (("last_it", "last_PL") if outcome == "diverged" else ()) + ("best_it", "best_PL")
            for col in cols:
                row[f"{outcome}_{col}"] = float(part[col].mean()) if len(part) else np.nan
        row["final_over_best"] = _final_over_best(dip["runs"][name])
        rows.append(row)
    return pd.DataFrame(rows)


# ---- Tables 2/3/7/8 ------------------------------------------------------------------------------------
def _mean_std(values) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def quality_row(quality: dict, prefix: str) -> dict:
    """Mean and std over images of each metric, as ``<prefix>_<metric>_mean`` / ``_std``."""
    row = {}
    for m in METRICS:
        row[f"{prefix}_{m}_mean"], row[f"{prefix}_{m}_std"] = _mean_std(quality[m])
    return row


def quality_frame(parts: dict, names: "tuple | None" = None) -> pd.DataFrame:
    """Tables 2/3/7/8: ``parts`` maps a column prefix (``dip``, ``im2sg``, ``train``, ``holdout``) to
    ``{loss name: quality dict}``; one row per loss (paper's names), columns as in the paper's CSV."""
    names = names or BASELINES + PGN_NAMES
    rows = []
    for name in names:
        row = {"loss": name}
        for prefix, runs in parts.items():
            if name in runs:
                row.update(quality_row(runs[name], prefix))
        rows.append(row)
    return paper_names(pd.DataFrame(rows), "loss")


def heads_quality(heads: dict, split: str) -> dict:
    """The talking-heads runs of one split, images pooled over subjects: ``{loss: quality dict}``."""
    out = {}
    for name, run in heads["runs"].items():
        out[name] = {m: [v for subject in run[split] for v in subject[m]] for m in METRICS}
    return out


def reference_spread(runs: dict, split: "str | None" = None) -> pd.DataFrame:
    """The seed-to-seed spread (:func:`repro.report.seed_spread`) of :data:`REFERENCE`'s mean quality
    over images, from ``{seed: result}`` (:func:`repro.pgn.experiments.reference_runs`); ``split``
    (``train`` | ``holdout``) for the talking-heads runs."""
    def quality(result):
        return heads_quality(result, split)[REFERENCE] if split else result["runs"][REFERENCE]["quality"]
    return report.seed_spread({s: {m: float(np.mean(quality(r)[m])) for m in METRICS} for s, r in runs.items()}, METRICS)


def means(frame: pd.DataFrame, prefix: str, metric: str) -> pd.Series:
    return frame.set_index("loss")[f"{prefix}_{metric}_mean"]


# ---- Table 4 -------------------------------------------------------------------------------------------
def training_cosine(log: dict, last_fraction: float = 0.2) -> list:
    """Cosine similarities of the last ``last_fraction`` of a training log (paper: last 5120 batches)."""
    values = log["cosine"]
    return values[-max(1, round(len(values) * last_fraction)):]


def cosine_frame(train_logs: dict, dip: dict, inversion: dict, heads: dict) -> pd.DataFrame:
    """Table 4: mean and std of the cosine between synthetic and true gradients, per PGN."""
    columns = {"train": {n: training_cosine(log) for n, log in train_logs.items()},
               "dip": {n: dip["runs"][n]["cosine"] for n in PGN_NAMES},
               "im2sg": {n: inversion["runs"][n]["cosine"] for n in PGN_NAMES},
               "heads": {n: heads["runs"][n]["cosine"] for n in PGN_NAMES}}
    rows = []
    for name in PGN_NAMES:
        row = {"model": name}
        for col, values in columns.items():
            row[f"{col}_mean"], row[f"{col}_std"] = _mean_std(values[name])
        rows.append(row)
    return pd.DataFrame(rows)


# ---- Figs. 7/14 ----------------------------------------------------------------------------------------
def proxy_targets(pgns: dict, y_hat: torch.Tensor, y: torch.Tensor) -> dict:
    r"""Each PGN's proxy target :math:`P(\hat y, y)` for images in [0, 1], as (H, W, 3) uint8 images
    (clamped to [0, 1])."""
    out = {}
    with torch.no_grad():
        for name, pgn in pgns.items():
            _, proxy = pgn.eval()(normalize(y_hat), normalize(y))
            out[name] = to_uint8_images(denormalize(proxy))
    return out


# ---- Fig. 5 stand-in -----------------------------------------------------------------------------------
def pairwise_wins(runs: dict, names: "tuple | None" = None, metric: str = "LPIPS") -> pd.DataFrame:
    """Fraction of images on which the row's reconstruction beats the column's (lower ``metric``):
    an automated stand-in for the paper's crowd-sourced side-by-side study, *not* human judgement."""
    names = names or tuple(runs)
    values = {n: np.asarray(runs[n][metric], dtype=float) for n in names}
    table = pd.DataFrame(index=list(names), columns=list(names), dtype=float)
    for a in names:
        for b in names:
            table.loc[a, b] = np.nan if a == b else float(np.mean(values[a] < values[b]))
    return table


# ---- the trained zoo -----------------------------------------------------------------------------------


def zoo_frame(scale: str = "cpu") -> pd.DataFrame:
    """The trained PGNs a run at ``scale`` uses: training config, time, final cosine and sha256."""
    where = pgn_scale(parse_scale(scale))
    rows = []
    for label, (name, mode) in ALL_PGNS.items():
        info = checkpoints.entry(name, mode, where)
        c = info["config"]
        rows.append({"PGN": label, "zoo name": name, "mode": mode, "trained at": f"scale={c['scale']}",
                     "steps": c["steps"], "image size": c["image_size"], "width": c["width"],
                     "minutes": info["seconds"] / 60, "final cosine": info["final_cosine"], "MB": info["bytes"] / 1e6,
                     "sha256": info["sha256"][:12]})
    return pd.DataFrame(rows).set_index("PGN")


def training_logs(scale: str = "cpu", names: "dict | None" = None) -> dict:
    """Training logs by display name (``repro train-pgn`` wrote them next to the checkpoints)."""
    where = pgn_scale(parse_scale(scale))
    return {label: checkpoints.training_log(name, mode, where) for label, (name, mode) in (names or ALL_PGNS).items()}


def examples(result: dict, names: tuple, n: int = 4, key: str = "runs") -> dict:
    """Figure columns: the ground truth, then each run's first ``n`` reconstructions (uint8 images)."""
    columns = {"ground truth": result["targets"][:n]}
    for name in names:
        columns[name] = result[key][name]["images"][:n]
    return columns


def heads_examples(heads: dict, split: str, index: int) -> dict:
    """Figs. 6/12/13 columns: per subject (rows) its first ``split`` frame and every loss's output."""
    columns = {"ground truth": [heads["frames"][s][index] for s in heads["subjects"]]}
    for name, run in heads["runs"].items():
        columns[name] = [entry["example"][0] for entry in run[split]]
    return columns


# ---- Table 4 floor -------------------------------------------------------------
def untrained_row(dip: dict, inversion: dict, heads: dict) -> dict:
    """Table 4's floor: an untrained ResNet-4 PGN on the trained ResNet-4's final images of each task."""
    row = {"model": "untrained ResNet-4", "train_mean": np.nan, "train_std": np.nan}
    for col, result in (("dip", dip), ("im2sg", inversion), ("heads", heads)):
        row[f"{col}_mean"], row[f"{col}_std"] = _mean_std(result["untrained_cosine"])
    return row


