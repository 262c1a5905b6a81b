r"""AWA's tables and figures, assembled from stored runs of :mod:`repro.awa.experiments`.

Each function takes ``scale`` (and ``data_root`` at ``paper`` scale), runs what is missing (runs
are stored, so tables that share a run — Table I's baseline is Fig. 1's default point and Table
II's experiment 1 — train it once) and returns plain data; ``*_verdicts`` turn that data into
the paper's claims with yes/no and the evidence.

=====================  ==============================================================
Fig. 1                 grid over (perceptual, style) weights, CTSDG, ``scenes``
Table I + Fig. 2       CTSDG vs CTSDG + TPL/TSL + AWA (seeds), OpenCV Telea / Navier-Stokes
Table II               ablation experiments 1-6
Table III + Fig. 3     AdaLoss, GradNorm, GradSim, AWA reweighting TPL/TSL
Tables IV / V          PRVS and EdgeConnect's image stage with and without AWA, two datasets
Fig. 4                 the six weights over training (incl. fine-tuning), two datasets
=====================  ==============================================================
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from repro.awa.losses import TERM_NAMES
from repro.awa.experiments import METRICS, classical, config, dataset_for, run
from repro.config import Scale
from repro.report import Verdict, verdict

HIGHER = {"PSNR": True, "SSIM": True, "MAE": False, "LPIPS": False, "FID": False}
#: Fig. 1's grid (perceptual weight x style weight); (0.1, 250) is the default.
P_GRID = (0.02, 0.1, 0.5)
S_GRID = (50.0, 250.0, 700.0)
SEEDS = {"smoke": (0, 1, 2), "cpu": (0, 1, 2), "paper": (0,)}
#: Table II: the paper's experiments 1-6 as config overrides.
ABLATION = {
    1: ("static auxiliary weights", dict(method="fixed")),
    2: ("AWA on PL/SL (LPIPS, K=1)", dict(method="awa", tied=True)),
    3: ("AWA on TPL/TSL (LPIPS, K=1)", dict(method="awa")),
    4: ("AWA on TPL/TSL (MAE, K=1)", dict(method="awa", guidance="mae")),
    5: ("AWA on TPL/TSL (LPIPS, K=5)", dict(method="awa", k=5)),
    6: ("AWA on TPL/TSL (LPIPS, K=10)", dict(method="awa", k=10)),
}
REWEIGHTING = {"AL": "adaloss", "GN": "gradnorm", "GS": "gradsim", "Ours": "awa"}
#: Tables IV and V: the paper's datasets (photo-bank analogues below scale='paper': closeups, scenes).
UNIVERSALITY = {"IV": "celeba", "V": "paris_streetview"}
#: Fig. 1 and Tables I-III run on this dataset (its analogue: scenes).
BASE_DATASET = "places2"
OTHER_GENERATORS = {"PRVS": "prvs", "EG2": "edgeconnect"}


def _run(scale, data_root=None, seed=0, dataset: str = BASE_DATASET, **overrides) -> dict:
    """One stored run on the paper's ``dataset`` (its photo-bank analogue below scale='paper')."""
    return run(config(scale, seed=seed, data_root=data_root, dataset=dataset_for(dataset, scale), **overrides))


def _better(a: float, b: float, metric: str) -> bool:
    return a > b if HIGHER[metric] else a < b


def mean_scores(result: dict) -> dict:
    """A run's metrics averaged over the hole-ratio bins."""
    return {m: float(np.mean([s[m] for s in result["scores"].values()])) for m in METRICS}


def per_bin(result: dict, name: str) -> pd.DataFrame:
    """Long form: metric, mask, value (column ``name``)."""
    return pd.DataFrame([{"metric": m, "mask": b, name: s[m]} for b, s in result["scores"].items() for m in METRICS])


# ---- Fig. 1 ------------------------------------------------------------------------------------------
def fig1(scale: str = "cpu", data_root=None) -> pd.DataFrame:
    rows = []
    for p in P_GRID:
        for s in S_GRID:
            res = _run(scale, data_root, weight_p=p, weight_s=s)
            rows.append({"weight_p": p, "weight_s": s, "default": (p, s) == (0.1, 250.0), **mean_scores(res)})
    return pd.DataFrame(rows)


def seed_spread(t1: dict) -> dict:
    """Per metric, the range of Table I's fixed-weight baseline over its seeds: the noise level."""
    return {m: max(mean_scores(r)[m] for r in t1["base"].values()) - min(mean_scores(r)[m] for r in t1["base"].values())
            for m in METRICS}


def fig1_verdicts(grid: pd.DataFrame, seed_spread: dict) -> list[Verdict]:
    """Sensitivity: the grid's range of each metric exceeds the seed-to-seed range of the default."""
    default = grid[grid["default"]].iloc[0]
    sensitive = [float(grid[m].max() - grid[m].min()) > seed_spread[m] for m in METRICS]
    better = [any(_better(v, default[m], m) for v in grid[~grid["default"]][m]) for m in METRICS]
    return [
        verdict("Inpainting quality is sensitive to the auxiliary weights (grid range > seed range)", sensitive, "metrics",
                "; ".join(f"{m} {grid[m].max() - grid[m].min():.3g} vs {seed_spread[m]:.3g}" for m in METRICS)),
        verdict("Grid search finds weights that beat the default", better, "metrics"),
    ]


# ---- Table I -------------------------------------------------------------------------------------------
def table1(scale: str = "cpu", data_root=None, dataset: str = BASE_DATASET) -> dict:
    seeds = SEEDS[scale]
    base = {s: _run(scale, data_root, seed=s, dataset=dataset) for s in seeds}
    awa = {s: _run(scale, data_root, seed=s, dataset=dataset, method="awa") for s in seeds}
    cls = classical(config(scale, data_root=data_root, dataset=dataset_for(dataset, scale)))
    return {"base": base, "awa": awa, "classical": cls, "dataset": dataset}


def table1_frame(t1: dict) -> pd.DataFrame:
    """Ours per bin x metric: Telea, Navier-Stokes, CTSDG and CTSDG + AWA (means over seeds)."""
    frames = [per_bin(t1["classical"][n], n) for n in ("Telea", "Navier-Stokes")]
    for key, name in (("base", "CTSDG"), ("awa", "CTSDG+AWA")):
        runs = [per_bin(r, name) for r in t1[key].values()]
        mean = runs[0].copy()
        mean[name] = np.mean([r[name].to_numpy() for r in runs], axis=0)
        frames.append(mean)
    out = frames[0]
    for f in frames[1:]:
        out = out.merge(f, on=["metric", "mask"])
    return out


def awa_vs_base(base: dict, awa: dict, unit: str, claim: str) -> list[Verdict]:
    """Per metric: AWA beats the baseline in how many seeds (means over bins)?"""
    out = []
    for m in METRICS:
        checks = [_better(mean_scores(awa[s])[m], mean_scores(base[s])[m], m) for s in base]
        out.append(verdict(f"{claim} on {m}", checks, unit))
    return out


def table1_verdicts(t1: dict) -> list[Verdict]:
    seeds = "seeds" if len(t1["base"]) > 1 else "seed"
    out = awa_vs_base(t1["base"], t1["awa"], seeds, "AWA beats fixed weights (CTSDG)")
    best_classical = {m: max if HIGHER[m] else min for m in METRICS}
    checks = []
    for m in ("PSNR", "LPIPS"):
        ref = best_classical[m](mean_scores(t1["classical"][n])[m] for n in ("Telea", "Navier-Stokes"))
        checks += [_better(mean_scores(r)[m], ref, m) for r in t1["awa"].values()]
    out.append(verdict("CTSDG + AWA beats the best classical method (PSNR, LPIPS)", checks, "seed x metric"))
    return out


# ---- Table II ------------------------------------------------------------------------------------------
def table2(scale: str = "cpu", data_root=None) -> pd.DataFrame:
    rows = []
    for exp, (setting, overrides) in ABLATION.items():
        res = _run(scale, data_root, **overrides)
        rows.append({"experiment": exp, "setting": setting, **mean_scores(res), "s/step": res["seconds_per_step"]})
    return pd.DataFrame(rows)


def table2_verdicts(t2: pd.DataFrame) -> list[Verdict]:
    r = t2.set_index("experiment")

    def beats(a: int, b: int, metrics=METRICS) -> list[bool]:
        return [_better(r.loc[a, m], r.loc[b, m], m) for m in metrics]

    spread = {m: (r.loc[[3, 5, 6], m].max() - r.loc[[3, 5, 6], m].min()) / abs(r.loc[3, m]) for m in METRICS}
    return [
        verdict("AWA on TPL/TSL (3) beats static weights (1)", beats(3, 1), "metrics"),
        verdict("TPL/TSL (3) beat the standard PL/SL under AWA (2)", beats(3, 2), "metrics"),
        verdict("LPIPS guidance (3) gives better perceptual scores than MAE guidance (4)", beats(3, 4, ("LPIPS", "FID")), "metrics"),
        verdict("AWA is insensitive to K (experiments 3, 5, 6 within 2 %)", [v <= 0.02 for v in spread.values()], "metrics",
                ", ".join(f"{m} {100 * v:.1f} %" for m, v in spread.items())),
    ]


# ---- Table III ------------------------------------------------------------------------------------------
def table3(scale: str = "cpu", data_root=None) -> dict:
    return {short: _run(scale, data_root, method=m) for short, m in REWEIGHTING.items()} | {"fixed": _run(scale, data_root)}


def table3_frame(t3: dict) -> pd.DataFrame:
    out = None
    for name in REWEIGHTING:
        f = per_bin(t3[name], name)
        out = f if out is None else out.merge(f, on=["metric", "mask"])
    return out


def table3_verdicts(t3: dict) -> list[Verdict]:
    frame = table3_frame(t3)
    perceptual = frame[frame.metric.isin(["LPIPS", "FID"])]
    best_perc = [all(_better(row["Ours"], row[o], row["metric"]) for o in ("AL", "GN", "GS")) for _, row in perceptual.iterrows()]
    distortion = frame[frame.metric.isin(["PSNR", "SSIM", "MAE"])]
    best_dist = [all(_better(row["Ours"], row[o], row["metric"]) for o in ("AL", "GN", "GS")) for _, row in distortion.iterrows()]
    al = mean_scores(t3["AL"])["PSNR"]
    others = [mean_scores(t3[k])["PSNR"] for k in ("GN", "GS", "Ours")]
    return [
        verdict("AWA has the best perceptual scores (LPIPS, FID) of the four reweighting methods", best_perc, "bin x metric"),
        verdict("AWA has the best distortion scores (PSNR, SSIM, MAE)", best_dist, "bin x metric"),
        verdict("AdaLoss fails (PSNR more than 3 dB below every other method)", all(al < o - 3 for o in others),
                detail=f"AdaLoss {al:.2f} dB vs {', '.join(f'{o:.2f}' for o in others)}"),
    ]


# ---- Tables IV and V -------------------------------------------------------------------------------------
def universality(scale: str = "cpu", data_root=None) -> dict:
    out = {}
    for table, dataset in UNIVERSALITY.items():
        out[table] = {name: {"base": _run(scale, data_root, dataset=dataset, generator=g),
                             "awa": _run(scale, data_root, dataset=dataset, generator=g, method="awa")}
                      for name, g in OTHER_GENERATORS.items()}
    return out


def universality_frame(tables: dict, table: str) -> pd.DataFrame:
    out = None
    for name, pair in tables[table].items():
        for key, col in (("base", name), ("awa", f"{name}_Ours")):
            f = per_bin(pair[key], col)
            out = f if out is None else out.merge(f, on=["metric", "mask"])
    return out


def universality_verdicts(tables: dict) -> list[Verdict]:
    out = []
    for table, pairs in tables.items():
        for name, pair in pairs.items():
            checks = [_better(mean_scores(pair["awa"])[m], mean_scores(pair["base"])[m], m) for m in METRICS]
            out.append(verdict(f"Table {table} ({UNIVERSALITY[table]} or its analogue): AWA improves {name}", checks, "metrics"))
    return out


# ---- Fig. 4 ----------------------------------------------------------------------------------------------
def fig4(scale: str = "cpu", data_root=None) -> dict:
    """Weight histories of CTSDG + AWA on the paper's two datasets (CelebA and Paris StreetView; their
    analogues ``closeups`` and ``scenes``, whose run is Table I's seed 0)."""
    return {dataset_for(d, scale): _run(scale, data_root, dataset=d, method="awa") for d in ("celeba", "paris_streetview")}


def weight_frame(result: dict) -> pd.DataFrame:
    frame = pd.DataFrame(result["weights"], columns=list(TERM_NAMES))
    frame.index.name = "step"
    return frame


def fig4_verdicts(runs: dict) -> list[Verdict]:
    """Rise: each weight grows faster during fine-tuning than over as many steps just before it
    (the official optimiser's weight decay alone already pulls every weight towards lambda/2, so a
    rise by itself would prove nothing). Depth: at the end, pool1 < pool2 < pool3 for the
    perceptual and for the style weights."""
    rise, deeper = [], []
    for res in runs.values():
        w = weight_frame(res)
        start = res["finetune_start"]
        length = len(w) - 1 - start
        for n in TERM_NAMES:
            during = (w[n].iloc[-1] - w[n].iloc[start]) / max(length, 1)
            before = (w[n].iloc[start] - w[n].iloc[max(0, start - length)]) / max(min(length, start), 1)
            rise.append(bool(during > max(before, 0.0)))
        final = w.iloc[-1]
        for kind in ("perc", "styl"):
            levels = [final[f"{kind}_pool{i}"] for i in (1, 2, 3)]
            deeper.append(bool(levels[0] < levels[1] < levels[2]))
    return [
        verdict("Weights rise when fine-tuning starts (faster than just before it)", rise, "weight x dataset"),
        verdict("Deeper features get larger weights (pool1 < pool2 < pool3 at the end)", deeper, "loss x dataset"),
    ]


def paper_vs_ours(paper: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """The paper's per-bin table and ours side by side, rows in the paper's metric order."""
    table = paper.merge(ours, on=["metric", "mask"], how="outer")
    table["_order"] = table["metric"].map({m: i for i, m in enumerate(METRICS)})
    return table.sort_values(["_order", "mask"]).drop(columns="_order").set_index(["metric", "mask"])


# ---- the part's closing page and deviations ------------------------------------------------------------
def closing(scale: str = "cpu", data_root=None) -> pd.DataFrame:
    """Every verdict of the AWA part, from the stored runs."""
    t1 = table1(scale, data_root)
    sections = {
        "Fig. 1": fig1_verdicts(fig1(scale, data_root), seed_spread(t1)),
        "Table I": table1_verdicts(t1),
        "Table II": table2_verdicts(table2(scale, data_root)),
        "Table III": table3_verdicts(table3(scale, data_root)),
        "Tables IV/V": universality_verdicts(universality(scale, data_root)),
        "Fig. 4": fig4_verdicts(fig4(scale, data_root)),
    }
    rows = [{"section": name, **v.as_row()} for name, verdicts in sections.items() for v in verdicts]
    return pd.DataFrame(rows).set_index(["section", "claim"])


def deviations(cfg) -> pd.DataFrame:
    """How the runs of ``cfg``'s scale depart from the paper's protocol."""
    paper_scale = cfg.scale is Scale.PAPER
    data = ("the real folders under data_root" if paper_scale else
            f"photo-bank crops: `scenes` (192 px to whole photos; for Places2 / Paris StreetView) and `closeups` "
            f"(1-2x the output size; for CelebA: no faces offline); {cfg.n_train} training crops of the 22 train photos, "
            f"{cfg.n_test} test crops of the 8 test photos per bin")
    rows = [
        ("data", "CelebA, CelebA-HQ, Paris StreetView, Places2 (100 to 10,000 test images)", data),
        ("masks", "NVIDIA irregular masks, per hole-ratio bin",
         "test: NVIDIA's masks under data_root/masks, binned by hole ratio; training: the book's brush-stroke masks "
         "in the same bins (repro.data.masks)" if paper_scale else "the book's brush-stroke masks in the same bins (repro.data.masks)"),
        ("networks", "CTSDG, PRVS, EdgeConnect at full size (tens of millions of parameters), 256x256",
         f"small sketches of each (`ctsdg_small`, `prvs_small`, `edgeconnect_small`, width {cfg.width}), "
         f"{cfg.image_size}x{cfg.image_size}; structure maps are Sobel edges, not Canny"),
        ("training", "350,000-400,000 iterations, then 50,000 of fine-tuning; Adam lr 2e-4, then 5e-5",
         f"{cfg.steps} steps incl. {cfg.finetune_steps} of fine-tuning at lr/4; Adam lr {cfg.lr:g}, batch {cfg.batch_size}"),
        ("AWA optimiser", "AdamW lr 1e-3, betas (0.5, 0.999) (paper); betas (0.5, 0.9), weight decay 0.2 (code)",
         f"the code's AdamW (betas (0.5, 0.9), weight decay 0.2) with lr {cfg.aux_lr:g}"
         + ("" if cfg.aux_lr == 1e-3 else ": a short run needs a larger step for the weights to move at all")),
        ("AWA gradients", "all generator parameters (paper); last layer only (code)",
         f"{cfg.awa_params} generator parameters (`awa_params`; 'last' is the code's choice)"),
        ("guidance batch", "the code pastes the look-ahead output into the first batch's hole (a bug)",
         "the guidance batch's own composite"),
        ("competitors", "AdaLoss, GradNorm, GradSim as published", "their weights are kept in TPL/TSL's range (0, lambda]"),
        ("seeds", "one run per setting", f"{len(SEEDS[cfg.scale.value])} seeds for Table I, one elsewhere"),
        ("FID", "10,000 images", f"{cfg.n_test} images per bin: far too few for FID's absolute values; compare rows only"),
    ]
    return pd.DataFrame(rows, columns=["item", "paper", "ours"])
