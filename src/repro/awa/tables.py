r"""AWA's tables and figures, assembled from stored runs of :mod:`repro.awa.experiments`.

Each function takes ``scale`` (and ``data_root`` at ``paper`` scale), runs what is missing (runs
are stored, so tables that share a run — Table I's baseline is Fig. 1's default point and Table
II's experiment 1 — train it once) and returns plain data. The claims these tables support are
decided by the ledger's one rule (:mod:`repro.claims`, from :mod:`repro.awa.claims`' observations).

=====================  ==============================================================
Fig. 1                 grid over (perceptual, style) weights, CTSDG, ``scenes``
Table I + Fig. 2       CTSDG vs CTSDG + TPL/TSL + AWA (seeds), OpenCV Telea / Navier-Stokes
Table II               ablation experiments 1-6
Table III + Fig. 3     AdaLoss, GradNorm, GradSim, AWA reweighting TPL/TSL
Tables IV / V          PRVS and EdgeConnect's image stage with and without AWA, two datasets
Fig. 4                 the six weights over training (incl. fine-tuning), two datasets
each table             :func:`reference_spread`: the fixed-weight generator's seed-to-seed spread
=====================  ==============================================================

Every table's reference is its generator with fixed weights, trained at the seeds
:data:`repro.report.SEEDS`.

**Table I's design** (:data:`TABLE1_DESIGN`): below ``scale="paper"`` every Table I run continues
from one shared warm start (:func:`repro.awa.experiments.warm_start`: fixed-weight training, in the
run bank at ``scale="cpu"``), both arms for each seed see the same batches and masks, the
continuation is longer than the auxiliary weights' equilibration time (:func:`equilibration_steps`),
and the test set has 64 images per hole bin. At ``scale="paper"`` the runs train from scratch with
the paper's protocol. Fig. 4 reads Table I's AWA runs below ``scale="paper"``. Fig. 1 and Tables II-V
train from scratch at the short preset; ``scale="cpu"`` leaves them out (:data:`LEFT_OUT`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from repro import bank, report, runner
from repro.awa.awa import AUX_OPTIMISERS
from repro.awa.losses import DEFAULT_WEIGHTS, TERM_NAMES
from repro.awa.experiments import METRICS, ProbeConfig, classical, config, dataset_for, probe, run, warm_config, warm_start
from repro.config import Scale, parse_scale

#: Fig. 1's grid (perceptual weight x style weight); (0.1, 250) is the default.
P_GRID = (0.02, 0.1, 0.5)
S_GRID = (50.0, 250.0, 700.0)
#: Table I's paired seeds (every scale: the ledger decides nothing on fewer than three).
SEEDS = report.SEEDS
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


#: Table I's runs per scale: a shared warm start of ``warm_steps`` fixed-weight steps, then ``steps``
#: paired steps per arm (the last ``finetune_steps`` fine-tuning), scored on ``n_test`` images per bin.
#: cpu: 4,000 warm steps (banked: 8 min on one core); 128 continuation steps before fine-tuning, at
#: least one equilibration time of the auxiliary weights at aux lr 4e-2 (125 steps,
#: :func:`equilibration_steps`), then 32 of fine-tuning; 64 test images per bin. paper: the paper's
#: protocol from scratch (the preset).
TABLE1_DESIGN = {
    Scale.SMOKE: dict(warm_steps=6, steps=6, finetune_steps=2),
    Scale.CPU: dict(warm_steps=4000, steps=160, finetune_steps=32, aux_lr=4e-2, n_test=64),
    Scale.PAPER: {},
}
#: What each scale leaves out of the book: those tables are not run, their pages say so and their
#: ledger claims stay inconclusive with :func:`left_out_reason`. At ``scale="cpu"`` the AWA part's
#: 12 minutes of the 40-minute book budget on 2 cores hold Table I and the recovery test on their
#: warm-start design (12 paired runs of 1-4 minutes, about 23 one-thread minutes, two at a time) and
#: Fig. 4, which reads Table I's AWA runs. Fig. 1 and Tables II-V trained from scratch at the short
#: preset (48 steps, one seed) could not decide a claim, and on the warm-start design each would
#: need at least six more paired runs. ``smoke`` runs everything (CI checks the code of every
#: table); ``paper`` runs the paper's protocol.
LEFT_OUT = {Scale.CPU: ("Fig. 1", "Table II", "Table III", "Fig. 3", "Table IV", "Table V")}
#: The recovery test: both arms of Table I's design started from a poor fixed weighting, the Fig. 1
#: grid's largest style weight (chosen before the runs; ledger: awa.rec.*).
RECOVERY = dict(weight_p=0.1, weight_s=700.0)


# Table I's warm start at scale="cpu" (4,000 fixed-weight steps, about 8 minutes on one core) is in the
# run bank: every Table I run continues from it, and the book reads it instead of training it.
bank.register("awa-warm-start", lambda: runner.Run(warm_start, warm_config(table1_config("cpu"))))


def left_out(item: str, scale) -> bool:
    """Whether ``scale`` leaves ``item`` ("Fig. 1", "Table II", ...) out of the book (:data:`LEFT_OUT`)."""
    return item in LEFT_OUT.get(parse_scale(scale), ())


def left_out_reason(scale) -> str:
    """Why the items :data:`LEFT_OUT` names are not run at ``scale`` (the ledger's reason and the pages' note)."""
    return (f"not run at scale={parse_scale(scale).value!r}: the AWA part's share of the book budget holds Table I and the "
            "recovery test on their warm-start design; trained from scratch at the short preset (one seed) it could not "
            "decide (repro.awa.tables.LEFT_OUT; scale='smoke' and scale='paper' run it)")


class Note(str):
    """Text a notebook shows as Markdown (``_repr_markdown_``; the package does not depend on IPython)."""

    def _repr_markdown_(self) -> str:
        return str(self)


def not_run(item: str, scale) -> Note:
    """What a page shows in place of an item ``scale`` leaves out (:data:`LEFT_OUT`)."""
    return Note(f"**{item}: {left_out_reason(scale)}.**")


def equilibration_steps(cfg) -> float:
    r"""Steps the auxiliary logits need to settle under the code's AdamW: :math:`1/(\mathrm{lr}\cdot
    \mathrm{wd})` (the weight decay's time constant; infinite without decay)."""
    wd = AUX_OPTIMISERS[cfg.aux_optimiser]["weight_decay"]
    return float("inf") if wd == 0 else 1.0 / (cfg.aux_lr * wd)


def table1_config(scale, data_root=None, seed=0, dataset: str = BASE_DATASET, **overrides):
    """The config of one Table I run (:data:`TABLE1_DESIGN`)."""
    return _cfg(scale, data_root, seed, dataset, **{**TABLE1_DESIGN[parse_scale(scale)], **overrides})


def _cfg(scale, data_root=None, seed=0, dataset: str = BASE_DATASET, **overrides):
    """The config of one run on the paper's ``dataset`` (its photo-bank analogue below scale='paper')."""
    return config(scale, seed=seed, data_root=data_root, dataset=dataset_for(dataset, scale), **overrides)


def _run(scale, data_root=None, seed=0, dataset: str = BASE_DATASET, **overrides) -> dict:
    """One stored run (:func:`_cfg`)."""
    return run(_cfg(scale, data_root, seed, dataset, **overrides))


# ---- what each chapter runs (handed to repro.runner.gather before its tables are built) ---------------
def _fig1_cfgs(scale, data_root):
    return [_cfg(scale, data_root, weight_p=p, weight_s=s) for p in P_GRID for s in S_GRID]


def _table1_cfgs(scale, data_root, dataset=BASE_DATASET):
    return [table1_config(scale, data_root, seed=s, dataset=dataset, **m) for m in ({}, {"method": "awa"}) for s in SEEDS]


def _recovery_cfgs(scale, data_root):
    return [table1_config(scale, data_root, seed=s, **RECOVERY, **m) for m in ({}, {"method": "awa"}) for s in SEEDS]


def _table2_cfgs(scale, data_root):
    return [_cfg(scale, data_root, **overrides) for _, overrides in ABLATION.values()]


def _spread_cfgs(scale, data_root):
    """The from-scratch fixed-weight reference at every seed: the seed spread under Fig. 1, Tables II and III."""
    return [_cfg(scale, data_root, seed=s) for s in SEEDS]


def _table3_cfgs(scale, data_root):
    return [_cfg(scale, data_root, method=m) for m in REWEIGHTING.values()] + [_cfg(scale, data_root)]


def _universality_cfgs(scale, data_root):
    return [_cfg(scale, data_root, seed=seed, dataset=d, generator=g, **m) for d in UNIVERSALITY.values()
            for g in OTHER_GENERATORS.values() for m in ({}, {"method": "awa"}) for seed in SEEDS
            if seed == 0 or not m]  # AWA at seed 0; the fixed-weight reference at every seed (its spread)


def _fig4_cfgs(scale, data_root):
    """Fig. 4's AWA runs: where Table I continues from a warm start (below scale='paper'), Table I's AWA
    runs at every seed (long enough for the weights to equilibrate, with a fine-tuning stage); at
    scale='paper' the paper's two datasets, trained from scratch."""
    if table1_config(scale, data_root).warm_steps:
        return [c for c in _table1_cfgs(scale, data_root) if c.method == "awa"]
    return [_cfg(scale, data_root, dataset=d, method="awa") for d in ("celeba", "paris_streetview")]


def probe_config(scale, data_root=None) -> ProbeConfig:
    """Fig. 4's probe at Table I's warm start and auxiliary lr (at scale='paper', where Table I trains
    from scratch, at a warm start of the paper's 350,000 main-stage steps)."""
    t1 = table1_config(scale, data_root, method="awa")
    overrides = dict(warm_steps=t1.warm_steps, aux_lr=t1.aux_lr) if t1.warm_steps else {}
    return ProbeConfig.create(scale, data_root=data_root, **overrides)


# Not in the run bank: Table II's K = 10 run at ``scale="cpu"`` took 310 s in a cold ``make book`` (60 s
# for K = 1), but 282 s built alone by ``repro bank build`` (one thread), under the bank's 5 minutes on
# 2 cores: the book computes it.


def chapter_stages(chapter: str, scale: str = "cpu", data_root=None) -> list[list]:
    """:func:`chapter_runs` in the stages :func:`repro.runner.gather` takes: the warm starts the runs
    continue from first (each computed once, not by every run that needs it), then the runs."""
    runs = chapter_runs(chapter, scale, data_root)
    continued = [r.cfg.run_config() if isinstance(r.cfg, ProbeConfig) else r.cfg for r in runs]
    warm = {w.key(): runner.Run(warm_start, w) for w in (warm_config(c) for c in continued if getattr(c, "warm_steps", 0))}
    return [list(warm.values()), runs] if warm else [runs]


def chapter_runs(chapter: str, scale: str = "cpu", data_root=None) -> list:
    """The runs of one AWA chapter (``"awa_01"`` ... ``"awa_04"``), as :class:`repro.runner.Run` objects."""
    def unless(item, cfgs):  # the runs of a table the scale does not leave out (LEFT_OUT)
        return [] if left_out(item, scale) else cfgs()

    cfgs = {"awa_01": lambda: unless("Fig. 1", lambda: _fig1_cfgs(scale, data_root) + _spread_cfgs(scale, data_root)),
            "awa_02": lambda: _table1_cfgs(scale, data_root) + _recovery_cfgs(scale, data_root),
            "awa_03": lambda: (unless("Table II", lambda: _table2_cfgs(scale, data_root) + _spread_cfgs(scale, data_root))
                               + unless("Table III", lambda: _table3_cfgs(scale, data_root) + _spread_cfgs(scale, data_root))),
            "awa_04": lambda: unless("Table IV", lambda: _universality_cfgs(scale, data_root)) + _fig4_cfgs(scale, data_root)}
    probes = [runner.Run(probe, probe_config(scale, data_root))] if chapter == "awa_04" else []
    if chapter not in cfgs:
        raise ValueError(f"no AWA chapter {chapter!r}; one of {', '.join(cfgs)}")
    extra = [runner.Run(classical, table1_config(scale, data_root))] if chapter == "awa_02" else []
    # AWA 4 closes the part (repro.ledger.part reads every AWA chapter's runs): it declares them all, so
    # that its kernel waits for the cluster's tasks instead of computing a run another chapter declared.
    closing = [r for other in ("awa_01", "awa_02", "awa_03") for r in chapter_runs(other, scale, data_root)] if chapter == "awa_04" else []
    return [runner.Run(run, c) for c in cfgs[chapter]()] + extra + probes + closing


def mean_scores(result: dict) -> dict:
    """A run's metrics averaged over the hole-ratio bins."""
    return {m: float(np.mean([s[m] for s in result["scores"].values()])) for m in METRICS}


def per_bin(result: dict, name: str) -> pd.DataFrame:
    """Long form: metric, mask, value (column ``name``)."""
    return pd.DataFrame([{"metric": m, "mask": b, name: s[m]} for b, s in result["scores"].items() for m in METRICS])


# ---- every table: the reference's seed noise ---------------------------------------------------------
def reference_spread(scale: str = "cpu", data_root=None, dataset: str = BASE_DATASET, generator: str = "ctsdg",
                     table1: bool = False) -> pd.DataFrame:
    """The seed-to-seed spread (:func:`repro.report.seed_spread`) of ``generator`` with fixed weights on
    ``dataset``: each metric averaged over the hole-ratio bins, at every seed of :data:`SEEDS`
    (``table1``: Table I's own fixed-weight runs, :data:`TABLE1_DESIGN`)."""
    make = table1_config if table1 else _cfg
    return report.seed_spread({s: mean_scores(run(make(scale, data_root, seed=s, dataset=dataset, generator=generator)))
                               for s in SEEDS}, METRICS)


def universality_spread(scale: str = "cpu", data_root=None, table: str = "IV") -> pd.DataFrame:
    """:func:`reference_spread` of each of Table IV's / V's generators (PRVS, EG2) on its dataset."""
    return pd.concat({name: reference_spread(scale, data_root, UNIVERSALITY[table], g) for name, g in OTHER_GENERATORS.items()},
                     names=["generator"])


# ---- Fig. 1 ------------------------------------------------------------------------------------------
def fig1(scale: str = "cpu", data_root=None) -> pd.DataFrame:
    return pd.DataFrame([{"weight_p": c.weight_p, "weight_s": c.weight_s, "default": (c.weight_p, c.weight_s) == (0.1, 250.0),
                          **mean_scores(run(c))} for c in _fig1_cfgs(scale, data_root)])


# ---- Table I -------------------------------------------------------------------------------------------
def table1(scale: str = "cpu", data_root=None, dataset: str = BASE_DATASET) -> dict:
    cfgs = _table1_cfgs(scale, data_root, dataset)
    base = {c.seed: run(c) for c in cfgs if c.method == "fixed"}
    awa = {c.seed: run(c) for c in cfgs if c.method == "awa"}
    cls = classical(table1_config(scale, data_root, dataset=dataset))
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


# ---- the recovery test ---------------------------------------------------------------------------
def recovery(scale: str = "cpu", data_root=None) -> dict:
    """Table I's design from the poor weighting :data:`RECOVERY`: ``{"fixed": {seed: run}, "awa": {seed: run}}``."""
    out: dict = {"fixed": {}, "awa": {}}
    for c in _recovery_cfgs(scale, data_root):
        out[c.method][c.seed] = run(c)
    return out


def recovery_frame(rec: dict, t1: dict) -> pd.DataFrame:
    """Means over the hole bins per seed: fixed and AWA from :data:`RECOVERY`, and Table I's two arms
    (from the default weights) for comparison."""
    rows = []
    starts = ((f"style {RECOVERY['weight_s']:g}", rec),
              (f"style {DEFAULT_WEIGHTS[3]:g} (Table I)", {"fixed": t1["base"], "awa": t1["awa"]}))
    for start, arms in starts:
        for method, runs in arms.items():
            rows += [{"start": start, "method": method, "seed": s, **mean_scores(r)} for s, r in runs.items()]
    return pd.DataFrame(rows).set_index(["start", "method", "seed"])


def mean_weight_frame(runs: dict) -> pd.DataFrame:
    """:func:`weight_frame` averaged over the seeds of ``runs`` ({seed: AWA run})."""
    frames = [weight_frame(r) for r in runs.values()]
    return sum(frames) / len(frames)


def design_text(cfg) -> str:
    """One line stating Table I's design at ``cfg``'s scale (:data:`TABLE1_DESIGN`)."""
    seeds = ", ".join(map(str, SEEDS))
    if not cfg.warm_steps:
        return (f"from scratch: {cfg.steps} steps per run, the last {cfg.finetune_steps} fine-tuning; seeds {seeds}; "
                f"{cfg.n_test} test images per hole bin")
    return (f"warm start: {cfg.warm_steps} fixed-weight steps (seed {cfg.warm_seed}); then per arm and seed {cfg.steps} paired steps, "
            f"the last {cfg.finetune_steps} fine-tuning (lr/4, BatchNorm statistics frozen); auxiliary lr {cfg.aux_lr:g}, "
            f"equilibration time {equilibration_steps(cfg):.0f} steps; seeds {seeds}; {cfg.n_test} test images per hole bin "
            f"(FID on the first {cfg.n_fid or cfg.n_test})")


# ---- Table II ------------------------------------------------------------------------------------------
def table2(scale: str = "cpu", data_root=None) -> pd.DataFrame:
    rows = []
    for (exp, (setting, _)), cfg in zip(ABLATION.items(), _table2_cfgs(scale, data_root)):
        res = run(cfg)
        rows.append({"experiment": exp, "setting": setting, **mean_scores(res), "s/step": res["seconds_per_step"]})
    return pd.DataFrame(rows)


# ---- Table III ------------------------------------------------------------------------------------------
def table3(scale: str = "cpu", data_root=None) -> dict:
    *reweighted, fixed = _table3_cfgs(scale, data_root)
    return {short: run(c) for short, c in zip(REWEIGHTING, reweighted)} | {"fixed": run(fixed)}


def table3_frame(t3: dict) -> pd.DataFrame:
    out = None
    for name in REWEIGHTING:
        f = per_bin(t3[name], name)
        out = f if out is None else out.merge(f, on=["metric", "mask"])
    return out


# ---- Tables IV and V -------------------------------------------------------------------------------------
def universality(scale: str = "cpu", data_root=None) -> dict:
    cfgs = [c for c in _universality_cfgs(scale, data_root) if c.seed == 0]
    return {table: {name: {key: run(next(c for c in cfgs if (c.dataset, c.generator, c.method) == (dataset_for(d, scale), g, m)))
                           for key, m in (("base", "fixed"), ("awa", "awa"))}
                    for name, g in OTHER_GENERATORS.items()}
            for table, d in UNIVERSALITY.items()}


def universality_frame(tables: dict, table: str) -> pd.DataFrame:
    out = None
    for name, pair in tables[table].items():
        for key, col in (("base", name), ("awa", f"{name}_Ours")):
            f = per_bin(pair[key], col)
            out = f if out is None else out.merge(f, on=["metric", "mask"])
    return out


# ---- Fig. 4 ----------------------------------------------------------------------------------------------
def fig4(scale: str = "cpu", data_root=None) -> dict:
    """Fig. 4's CTSDG + AWA runs (:func:`_fig4_cfgs`) as ``{(dataset, seed): run}``: below scale='paper'
    Table I's AWA runs (``scenes``, every seed of :data:`SEEDS`); at scale='paper' CelebA and Paris
    StreetView."""
    return {(c.dataset, c.seed): run(c) for c in _fig4_cfgs(scale, data_root)}


def fig4_curves(runs: dict) -> dict:
    """:func:`fig4`'s weight histories averaged over the seeds of each dataset: ``{dataset: (frame, finetune_start)}``."""
    datasets = dict.fromkeys(d for d, _ in runs)
    return {d: (mean_weight_frame({s: r for (d2, s), r in runs.items() if d2 == d}),
                next(r["finetune_start"] for (d2, _), r in runs.items() if d2 == d)) for d in datasets}


def probe_frame(result: dict) -> pd.DataFrame:
    """The probe's inner products, one row per batch pair, with whether all six share a sign."""
    frame = pd.DataFrame(result["inner_products"], columns=result["terms"])
    frame.index.name = "pair"
    signs = np.sign(frame.to_numpy())
    frame["common mode"] = [bool(abs(row.sum()) == len(row)) for row in signs]
    return frame


def probe_summary(result: dict) -> pd.DataFrame:
    """Per term: the share of pairs where its d_j is positive and its mean d_j divided by the pair's
    largest |d|; and the share of pairs whose six d_j share a sign (``common mode``)."""
    frame = probe_frame(result)
    d = frame[result["terms"]]
    scaled = d.div(d.abs().max(axis=1), axis=0)
    out = pd.DataFrame({"share positive": (d > 0).mean(), "mean d / max |d|": scaled.mean()})
    out.loc["all six (common mode)", "share positive"] = float(frame["common mode"].mean())
    return out


def weight_frame(result: dict) -> pd.DataFrame:
    frame = pd.DataFrame(result["weights"], columns=list(TERM_NAMES))
    frame.index.name = "step"
    return frame


def paper_vs_ours(paper: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """The paper's per-bin table and ours side by side, rows in the paper's metric order."""
    table = paper.merge(ours, on=["metric", "mask"], how="outer")
    table["_order"] = table["metric"].map({m: i for i, m in enumerate(METRICS)})
    return table.sort_values(["_order", "mask"]).drop(columns="_order").set_index(["metric", "mask"])


# ---- the part's closing page and deviations ------------------------------------------------------------


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
         (f"a shared warm start of {cfg.warm_steps} fixed-weight steps, then " if cfg.warm_steps else "")
         + f"{cfg.steps} steps incl. {cfg.finetune_steps} of fine-tuning at lr/4 (BatchNorm statistics frozen); "
           f"Adam lr {cfg.lr:g}, betas (0.9, 0.999) as CTSDG, discriminator at lr/10, batch {cfg.batch_size}"),
        ("AWA optimiser", "AdamW lr 1e-3, betas (0.5, 0.999) (paper); betas (0.5, 0.9), weight decay 0.2 (code)",
         f"the code's AdamW (betas (0.5, 0.9), weight decay 0.2) with lr {cfg.aux_lr:g}"
         + ("" if cfg.aux_lr == 1e-3 else ": a short run needs a larger step for the weights to move at all")),
        ("AWA gradients", "all generator parameters (paper); last layer only (code)",
         f"{cfg.awa_params} generator parameters (`awa_params`; 'last' is the code's choice)"),
        ("guidance batch", "the code pastes the look-ahead output into the first batch's hole (a bug)",
         "the guidance batch's own composite"),
        ("competitors", "AdaLoss, GradNorm, GradSim as published", "their weights are kept in TPL/TSL's range (0, lambda]"),
        ("seeds", "one run per setting", f"{len(SEEDS)} paired seeds for Table I and the recovery test (a seed fixes the batches "
                                          "and masks of both arms) and for every table's fixed-weight reference (its seed spread); one elsewhere"),
        ("FID", "10,000 images", f"the first {cfg.n_fid or cfg.n_test} of {cfg.n_test} test images per bin: far too few for FID's "
                                 "absolute values (it decides nothing: repro.claims.FID_MIN_IMAGES); compare rows only"),
    ]
    return pd.DataFrame(rows, columns=["item", "paper", "ours"])
