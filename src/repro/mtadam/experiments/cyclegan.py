r"""MTAdam, Table 3 and Figs. 3–6: CycleGAN with an unbalanced cycle weight.

CycleGAN (Zhu et al. 2017) trains two generators, :math:`G: A \to B` and :math:`F: B \to A`,
against two discriminators with six terms (LSGAN losses, as in CycleGAN's code):

.. math::
    L = \lambda_{GAN}(L_{GAN}^A + L_{GAN}^B) + \lambda_{cycle}(L_{cyc}^A + L_{cyc}^B)
        + \lambda_{cycle}\lambda_{idt}(L_{idt}^A + L_{idt}^B)

with :math:`L_{GAN}^A = \lVert D_B(G(a)) - 1\rVert^2`, :math:`L_{cyc}^A = \lVert F(G(a)) - a\rVert_1`,
:math:`L_{idt}^A = \lVert G(b) - b\rVert_1` and symmetrically for B. Prescribed
:math:`(\lambda_{GAN}, \lambda_{cycle}, \lambda_{idt}) = (1, 10, 0.5)`; the paper unbalances it with
:math:`\lambda_{cycle} = 1000`. As in CycleGAN's code the identity weight is
:math:`\lambda_{cycle}\lambda_{idt}`, so it grows with :math:`\lambda_{cycle}` too. MTAdam gets the
six terms separately in the code's order (GAN A, GAN B, cycle A, cycle B, identity A, identity B);
the others their sum. Both generators share one optimiser; the discriminators use Adam.

Direction "A" is the translation :math:`A \to B` (``G``), direction "B" is :math:`B \to A`
(``F``); each is measured against the hidden ground truth (:mod:`repro.data.unpaired`): L1, L2
on 0–255 pixels, NMSE and FID against the true images of the target domain.

Data: photo-bank tasks below ``scale="paper"`` (:mod:`repro.data.unpaired`); at ``paper``
``<data_root>/horse2zebra/{trainA,trainB,testA,testB}`` (validation: the last ``n_val`` training
images of each domain) and the pix2pix maps download ``<data_root>/maps/{train,val}`` (A|B side by
side; A and B of disjoint halves of train/ are the unpaired training sets, val/ is the paired test set,
as in CycleGAN's own maps download).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from repro import metrics
from repro.config import ExperimentConfig, Scale
from repro.data.folders import dataset_path, list_images
from repro.data.images import center_square, decode_image, resize, to_tensor, to_uint8_images
from repro.data.unpaired import UNPAIRED_TASKS, paired_set, unpaired_set
from repro.mtadam.hyperband import search as hyperband_search
from repro.mtadam.experiments.gans import ORDER, evaluate, predict, train_methods
from repro.mtadam.baselines import make_optimizer
from repro.runtime import device
from repro.store import experiment
from repro.zoo import create_model

METRICS = ("L1", "L2", "NMSE", "FID")
TERMS = ("GAN A", "GAN B", "cycle A", "cycle B", "identity A", "identity B")
#: The real datasets at scale="paper": horse2zebra (trainA/trainB/testA/testB), maps (train/val, A|B side by side).
PAPER_DATASETS = {"photo2falsecolour": "horse2zebra", "photo2map": "maps"}


@dataclasses.dataclass(frozen=True)
class CycleGANConfig(ExperimentConfig):
    task: str = "photo2falsecolour"
    image_size: int = 32
    n_train: int = 96
    n_val: int = 12
    n_test: int = 24
    epochs: int = 6
    batch_size: int = 4
    ngf: int = 16
    n_blocks: int = 2
    ndf: int = 16
    lr: float = 2e-4
    lambda_gan: float = 1.0
    lambda_cycle_balanced: float = 10.0
    lambda_cycle_unbalanced: float = 1000.0
    lambda_idt: float = 0.5
    fid_every: int = 6
    hyperband_trials: int = 3
    hyperband_low: float = 1.0
    hyperband_high: float = 1000.0
    n_samples: int = 4

    VERSION = 1

    NAME = "mtadam.cyclegan"
    PRESETS: ClassVar[dict] = {
        Scale.SMOKE: dict(image_size=16, ngf=8, ndf=8, n_blocks=1, n_train=8, n_val=4, n_test=6, epochs=2, hyperband_trials=2,
                          n_samples=2),
        Scale.CPU: dict(epochs=3, fid_every=3),  # not 6: the MTAdam part's 14 minutes of the 40-minute book budget (README)
        Scale.PAPER: dict(image_size=256, ngf=64, ndf=64, n_blocks=9, n_train=0, n_val=100, n_test=0, epochs=200,
                          batch_size=1, fid_every=10, hyperband_trials=40),
    }
    ALL_AT_PAPER = ("n_train",)
    AT_LEAST_ONE = ("epochs", "batch_size", "fid_every", "hyperband_trials", "n_blocks")

    def validate(self) -> None:
        super().validate()
        if self.task not in UNPAIRED_TASKS:
            raise ValueError(f"unknown task {self.task!r}; valid: {', '.join(UNPAIRED_TASKS)}")
        if self.image_size % 4:
            raise ValueError(f"image_size must be divisible by 4, got {self.image_size}")
        if self.n_val < 2 or (self.n_test < 2 and not (self.n_test == 0 and self.scale is Scale.PAPER)):
            raise ValueError(f"n_val and n_test must be >= 2 (FID needs two images; n_test 0 = all, at scale='paper'), "
                             f"got {self.n_val}, {self.n_test}")


#: Not in the paper: the input returned unchanged, the mapping CycleGAN collapses to when the
#: cycle and identity terms dominate. A model that does not beat it has not learnt the translation.
IDENTITY = "Identity mapping (not in the paper)"


def config(task: str, scale: str = "cpu", seed: int = 0, data_root: "str | None" = None, **overrides) -> CycleGANConfig:
    return CycleGANConfig.create(scale, seed=seed, data_root=data_root, task=task, **overrides)


# ---- data ---------------------------------------------------------------------------------------
def _folder(cfg: CycleGANConfig, name: str, split: str, limit: int, half: "int | None" = None) -> torch.Tensor:
    images = []
    for path in list_images(dataset_path(cfg.data_root, name, split))[: limit or None]:
        image = decode_image(path, "Replace or remove that file.")
        if half is not None:  # pix2pix-style A|B file
            w = image.shape[1] // 2
            image = image[:, :w] if half == 0 else image[:, w:]
        images.append(resize(center_square(image), cfg.image_size))
    return to_tensor(images)


def _paper_data(cfg: CycleGANConfig) -> dict:
    name = PAPER_DATASETS[cfg.task]
    if name == "maps":  # paired files: train on A and B from disjoint halves, test against the true pair
        a_all, b_all = _folder(cfg, name, "train", cfg.n_train, 0), _folder(cfg, name, "train", cfg.n_train, 1)
        n = len(a_all) // 2
        a_test, b_test = _folder(cfg, name, "val", cfg.n_test, 0), _folder(cfg, name, "val", cfg.n_test, 1)
        train, val = (a_all[:n], b_all[n:]), (a_all[n : n + cfg.n_val], b_all[: cfg.n_val])
        return {"train": train, "val": val, "test": {"a": a_test, "b": b_test, "b_true": b_test, "a_true": a_test}}
    # horse2zebra has no ground truth: each direction is compared with its input (pixel metrics) and
    # with the real test images of the target domain (FID), as the paper must have done.
    a, b = _folder(cfg, name, "trainA", cfg.n_train), _folder(cfg, name, "trainB", cfg.n_train)
    a_test, b_test = _folder(cfg, name, "testA", cfg.n_test), _folder(cfg, name, "testB", cfg.n_test)
    val = (a[-cfg.n_val :], b[-cfg.n_val :])
    return {"train": (a[: -cfg.n_val], b[: -cfg.n_val]), "val": val,
            "test": {"a": a_test, "b": b_test, "b_true": a_test, "a_true": b_test, "fid_b": b_test, "fid_a": a_test}}


def datasets(cfg: CycleGANConfig) -> dict:
    """Unpaired train / validation sets; the test set with each direction's ground truth."""
    if cfg.scale is Scale.PAPER:
        return _paper_data(cfg)
    a, b = paired_set(cfg.task, cfg.n_test, cfg.image_size, "test", seed=cfg.seed + 20_000)
    return {
        "train": unpaired_set(cfg.task, cfg.n_train, cfg.image_size, "train", seed=cfg.seed),
        "val": unpaired_set(cfg.task, cfg.n_val, cfg.image_size, "train", seed=cfg.seed + 10_000),
        "test": {"a": a, "b": b, "b_true": b, "a_true": a},
    }


# ---- one training run -----------------------------------------------------------------------------
def _lsgan(pred: torch.Tensor, real: bool) -> torch.Tensor:
    return F.mse_loss(pred, torch.full_like(pred, float(real)))


class _Evaluator:
    """Per-direction metrics on ``data["test"]``; the references' Inception features computed once."""

    def __init__(self, data: dict, dev) -> None:
        test = data["test"]
        self.a, self.b = test["a"].to(dev), test["b"].to(dev)
        self.targets = {"A": test["b_true"].to(dev), "B": test["a_true"].to(dev)}
        self.features = {"A": metrics.REFERENCE_FEATURES(test.get("fid_b", test["b_true"]).to(dev)),
                         "B": metrics.REFERENCE_FEATURES(test.get("fid_a", test["a_true"]).to(dev))}

    def __call__(self, gens: nn.ModuleDict, with_fid: bool = True) -> tuple[dict, dict]:
        fakes = {"A": predict(gens["AB"], self.a), "B": predict(gens["BA"], self.b)}
        row = {}
        for side, fake in fakes.items():
            feats = self.features[side] if with_fid else None
            row.update({f"{k}_{side}": v for k, v in evaluate(fake, self.targets[side], feats).items()})
        return row, fakes


def train(cfg: CycleGANConfig, optimizer: str, lambda_cycle: float, data: dict, seed_offset: int = 0,
          report=None, curve: bool = True, options: "dict | None" = None) -> dict:
    """Train one CycleGAN; per-epoch test metrics (FID every ``fid_every`` epochs) and final metrics.

    ``report(epoch, generators)`` is called after each epoch (Hyperband's pruning hook);
    ``options`` go to MTAdam (a Table 5 variant).
    """
    dev = device()
    torch.manual_seed(cfg.seed * 1009 + seed_offset)
    gens = nn.ModuleDict({k: create_model("cyclegan_resnet", ngf=cfg.ngf, n_blocks=cfg.n_blocks) for k in ("AB", "BA")}).to(dev)
    discs = nn.ModuleDict({k: create_model("patchgan", in_ch=3, ndf=cfg.ndf, n_layers=2) for k in ("A", "B")}).to(dev)
    opt_g = make_optimizer(optimizer, gens, lr=cfg.lr, betas=(0.5, 0.999), **(options or {}))
    opt_d = torch.optim.Adam(discs.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    a_train, b_train = (t.to(dev) * 2 - 1 for t in data["train"])
    evaluator = _Evaluator(data, dev)
    order = torch.Generator().manual_seed(cfg.seed)
    weights = (cfg.lambda_gan, cfg.lambda_gan, lambda_cycle, lambda_cycle, lambda_cycle * cfg.lambda_idt, lambda_cycle * cfg.lambda_idt)
    n = min(len(a_train), len(b_train))
    curves, final = [], None
    for epoch in range(1, cfg.epochs + 1):
        perm_a, perm_b = torch.randperm(n, generator=order).to(dev), torch.randperm(n, generator=order).to(dev)
        for i in range(0, n, cfg.batch_size):
            a, b = a_train[perm_a[i : i + cfg.batch_size]], b_train[perm_b[i : i + cfg.batch_size]]
            fake_b, fake_a = gens["AB"](a), gens["BA"](b)
            discs.requires_grad_(False)
            terms = [_lsgan(discs["B"](fake_b), True), _lsgan(discs["A"](fake_a), True),
                     (gens["BA"](fake_b) - a).abs().mean(), (gens["AB"](fake_a) - b).abs().mean(),
                     (gens["AB"](b) - b).abs().mean(), (gens["BA"](a) - a).abs().mean()]
            opt_g.step([w * t for w, t in zip(weights, terms)])  # MTAdam: six terms; others: their sum
            discs.requires_grad_(True)
            d_loss = 0.5 * (_lsgan(discs["B"](b), True) + _lsgan(discs["B"](fake_b.detach()), False)
                            + _lsgan(discs["A"](a), True) + _lsgan(discs["A"](fake_a.detach()), False))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        if curve:
            row, fakes = evaluator(gens, epoch % cfg.fid_every == 0 or epoch == cfg.epochs)
            curves.append({"epoch": epoch, **row})
            final = row if epoch == cfg.epochs else None
        if report is not None:
            report(epoch, gens)
    if final is None:
        final, fakes = evaluator(gens)
    samples = {side: to_uint8_images(fake[: cfg.n_samples]) for side, fake in fakes.items()}
    return {"final": final, "curves": curves, "samples": samples, "generators": gens}


# ---- Hyperband over lambda_cycle -----------------------------------------------------------------
def hyperband(cfg: CycleGANConfig, data: dict) -> dict:
    """Hyperband (random sampling of log lambda_cycle) minimising the mean validation FID of both directions."""
    dev = device()
    a_val, b_val = (t.to(dev) for t in data["val"])
    features = {"AB": metrics.inception_features(b_val), "BA": metrics.inception_features(a_val)}
    inputs = {"AB": a_val, "BA": b_val}

    def val_fid(gens) -> float:
        fids = []
        for key in ("AB", "BA"):
            fake = predict(gens[key], inputs[key])
            fids.append(metrics.frechet_distance(metrics.inception_features(fake), features[key]) if torch.isfinite(fake).all() else float("inf"))
        return float(np.mean(fids))

    def train_trial(params: dict, number: int, report) -> dict:
        out = train(cfg, "Adam", params["lambda_cycle"], data, seed_offset=1 + number,
                    report=lambda epoch, gens: report(epoch, val_fid(gens)), curve=False)
        return {**out["final"], "samples": out["samples"]}

    suggest = lambda trial: {"lambda_cycle": trial.suggest_float("lambda_cycle", cfg.hyperband_low, cfg.hyperband_high, log=True)}  # noqa: E731
    return hyperband_search(f"cyclegan-{cfg.task}-seed{cfg.seed}", suggest, train_trial, cfg.hyperband_trials, cfg.epochs, cfg.seed)


@experiment("mtadam/table3_cyclegan", resumable=True)
def run(cfg: CycleGANConfig, checkpoint) -> dict:
    """All Table 3 rows for one task; resumable method by method."""
    data = datasets(cfg)
    state = checkpoint.load() if checkpoint.exists() else {"methods": {}}
    lambdas = {"unbalanced": cfg.lambda_cycle_unbalanced, "balanced": cfg.lambda_cycle_balanced}
    train_methods(state, checkpoint, f"Table 3 ({cfg.task})", lambda optimizer, setting: train(cfg, optimizer, lambdas[setting], data))
    if "hyperband" not in state:
        state["hyperband"] = hyperband(cfg, data)
        checkpoint.save(state)
    hb = state["hyperband"]
    state["methods"]["Hyperband-FID"] = {"final": {k: v for k, v in hb["best"].items() if k.rsplit("_", 1)[0] in METRICS},
                                         "curves": [], "samples": hb["best"]["samples"]}
    test = data["test"]
    n = cfg.n_samples
    identity = nn.ModuleDict({"AB": nn.Identity(), "BA": nn.Identity()})
    return {"task": cfg.task, "methods": state["methods"], "identity": _Evaluator(data, device())(identity)[0], "hyperband": {k: v for k, v in hb.items() if k != "best"},
            "inputs": {"A": to_uint8_images(test["a"][:n]), "B": to_uint8_images(test["b"][:n])},
            "targets": {"A": to_uint8_images(test["b_true"][:n]), "B": to_uint8_images(test["a_true"][:n])},
            "sizes": {"train": len(data["train"][0]), "val": len(data["val"][0]), "test": len(test["a"])}}


@experiment("mtadam/table3_reference")
def reference(cfg: CycleGANConfig) -> dict:
    """Table 3's reference row (:data:`repro.mtadam.experiments.gans.REFERENCE`) alone, trained as in
    :func:`run`: its final test metrics, for the seed spread (:func:`repro.mtadam.experiments.gans.reference_runs`)."""
    return train(cfg, "MTAdam", cfg.lambda_cycle_unbalanced, datasets(cfg), curve=False)["final"]


# ---- tables and verdicts ---------------------------------------------------------------------
def summary(results: dict[str, dict], names: dict[str, str]) -> pd.DataFrame:
    """Our Table 3 in the paper's layout: (dataset, method) rows, ``<metric>_<A|B>`` columns."""
    rows = []
    for task, dataset in names.items():
        finals = {name: results[task]["methods"][name]["final"] for name in ORDER} | {IDENTITY: results[task]["identity"]}
        for name, final in finals.items():
            rows.append({"dataset": dataset, "method": name, **{f"{m}_{s}": final[f"{m}_{s}"] for s in "AB" for m in METRICS}})
    return pd.DataFrame(rows)


def deviations(cfg: CycleGANConfig, results: dict[str, dict]) -> pd.DataFrame:
    """How this run departs from the paper's CycleGAN protocol."""
    sizes = next(iter(results.values()))["sizes"]
    data = ("the real folders under data_root" if cfg.scale is Scale.PAPER
            else f"photo-bank renderings: {sizes['train']} unpaired train images per domain, {sizes['test']} test pairs")
    return pd.DataFrame([
        {"item": "data", "paper": "horse2zebra (1,067 / 1,334 train), maps (1,096 train)", "ours": data},
        {"item": "ground truth", "paper": "maps: the paired map; horse2zebra: none (what L1 compares is not stated)",
         "ours": "the hidden rendering (exact counterpart) for both tasks"},
        {"item": "resolution / network", "paper": "256x256, ResNet generator (9 blocks, 64 filters), 70x70 PatchGAN",
         "ours": f"{cfg.image_size}x{cfg.image_size}, ResNet generator ({cfg.n_blocks} blocks, {cfg.ngf} filters), 3-layer PatchGAN"},
        {"item": "training", "paper": "200 epochs, batch 1, image pool of 50", "ours": f"{cfg.epochs} epochs, batch {cfg.batch_size}, no image pool"},
        {"item": "Hyperband", "paper": "over lambda_cycle (trials not stated)", "ours": f"{cfg.hyperband_trials} trials (Optuna HyperbandPruner, random sampling)"},
        {"item": "FID", "paper": "full test sets", "ours": f"{sizes['test']} test images per direction"},
    ])


# Not in the run bank: a task's table run took 481 s (photo -> false colour) and 340 s (photo -> map)
# in a cold ``make book``, but most of that was waiting for its Hyperband trials' tasks behind other
# runs; built alone (``repro bank build``) the false-colour run took 288 s, under the bank's 5 minutes
# on 2 cores, so the book computes both.
