r"""MTAdam, Table 2 and Figs. 1–2: pix2pix with unbalanced loss weights.

The pix2pix generator minimises :math:`\lambda_{L1} L_{L1} + \lambda_{GAN} L_{GAN}` with
:math:`(\lambda_{L1}, \lambda_{GAN}) = (100, 1)` (balanced, the method's prescription); the paper
unbalances it with :math:`\lambda_{L1} = 1` (a 1:1 ratio). SGD with momentum, RMSProp, Adam and
MTAdam train the generator on the unbalanced loss, Adam on the balanced one, and Hyperband
(Optuna's ``HyperbandPruner`` with random sampling) searches :math:`\lambda_{L1}` for the best
validation FID. The discriminator is always trained with Adam. MTAdam receives the two terms
separately, the L1 term first (the anchor).

Metrics on the held-out pairs: L1 and L2 on 0–255 pixels, NMSE, FID (``repro.metrics``).

Data: photo-bank renderings below ``scale="paper"`` (:mod:`repro.data.paired`); at ``paper`` the
pix2pix downloads, A|B side by side: ``<data_root>/facades/{train,val,test}`` and
``<data_root>/maps/{train,val}``, whose ``val/`` is the test set (pix2pix's split) and also gives
Hyperband's validation pairs (its first ``n_val``, the test pairs being the next ``n_test``).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import pandas as pd
import torch
import torch.nn.functional as F

from repro import bank, metrics, runner
from repro.config import ExperimentConfig, Scale
from repro.data.folders import dataset_path, list_images
from repro.data.images import decode_image, resize, to_tensor, to_uint8_images
from repro.data.paired import TASKS, paired_set
from repro.mtadam.hyperband import search as hyperband_search
from repro.mtadam.baselines import make_optimizer
from repro.mtadam.experiments.gans import ORDER, evaluate, predict, train_methods
from repro.runtime import device
from repro.store import experiment
from repro.zoo import create_model

#: The paper's folder names for the real datasets (scale="paper"): A|B side by side.
PAPER_DATASETS = {"labels2photo": ("facades", "BtoA"), "photo2map": ("maps", "AtoB")}
#: Where each folder's validation and test pairs come from: (sub-folder, pairs skipped first). The
#: maps download has no test/: its val/ is the test set, and Hyperband validates on its first n_val.
PAPER_SPLITS = {"facades": {"val": ("val", False), "test": ("test", False)},
                "maps": {"val": ("val", False), "test": ("val", True)}}


@dataclasses.dataclass(frozen=True)
class Pix2PixConfig(ExperimentConfig):
    task: str = "labels2photo"
    image_size: int = 64
    n_train: int = 256
    n_val: int = 16
    n_test: int = 48
    epochs: int = 10
    batch_size: int = 8
    ngf: int = 32
    ndf: int = 32
    depth: int = 5
    lr: float = 2e-4
    lambda_gan: float = 1.0
    lambda_l1_balanced: float = 100.0
    lambda_l1_unbalanced: float = 1.0
    fid_every: int = 5
    hyperband_trials: int = 8
    hyperband_low: float = 1.0
    hyperband_high: float = 1000.0
    n_samples: int = 4

    VERSION = 4  # 2: samples as (H, W, 3); 3: deterministic Hyperband brackets; 4: metrics keep the RNG

    NAME = "mtadam.pix2pix"
    PRESETS: ClassVar[dict] = {
        Scale.SMOKE: dict(image_size=32, depth=4, ngf=16, ndf=16, n_train=16, n_val=4, n_test=8, epochs=2, fid_every=2,
                          hyperband_trials=2, n_samples=2),
        Scale.CPU: dict(image_size=32, depth=4, n_test=32, hyperband_trials=6),
        Scale.PAPER: dict(image_size=256, depth=8, ngf=64, ndf=64, n_train=0, n_val=100, n_test=100, epochs=200,
                          batch_size=1, fid_every=10, hyperband_trials=40),
    }
    ALL_AT_PAPER = ("n_train",)
    AT_LEAST_ONE = ("n_val", "n_test", "epochs", "batch_size", "fid_every", "hyperband_trials")

    def validate(self) -> None:
        super().validate()
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; valid: {', '.join(TASKS)}")
        if self.image_size % 2**self.depth:
            raise ValueError(f"image_size {self.image_size} must be divisible by 2**depth = {2 ** self.depth}")
        if min(self.n_val, self.n_test) < 2:
            raise ValueError("n_val and n_test must be >= 2 (FID needs two images)")


def config(task: str, scale: str = "cpu", seed: int = 0, data_root: "str | None" = None, **overrides) -> Pix2PixConfig:
    return Pix2PixConfig.create(scale, seed=seed, data_root=data_root, task=task, **overrides)


# ---- data ---------------------------------------------------------------------------------------
def _folder_pairs(cfg: Pix2PixConfig, split: str, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    name, direction = PAPER_DATASETS[cfg.task]
    folder, skip = PAPER_SPLITS[name].get(split, (split, False))
    first = cfg.n_val if skip else 0
    a_list, b_list = [], []
    for path in list_images(dataset_path(cfg.data_root, name, folder))[first : first + limit]:
        image = decode_image(path, "Replace or remove that file.")
        half = image.shape[1] // 2
        a_list.append(resize(image[:, :half], cfg.image_size))
        b_list.append(resize(image[:, half:], cfg.image_size))
    if len(a_list) < (1 if split == "train" else 2):  # FID needs two images
        raise ValueError(f"{dataset_path(cfg.data_root, name, folder)} holds {len(a_list)} {split} pair(s) after the first "
                         f"{first}; the {split} set needs at least {1 if split == 'train' else 2}")
    a, b = to_tensor(a_list), to_tensor(b_list)
    return (b, a) if direction == "BtoA" else (a, b)


def datasets(cfg: Pix2PixConfig) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Train / validation / test pairs: photo-bank renderings, or the real folders at scale='paper'."""
    if cfg.scale is Scale.PAPER:
        train = _folder_pairs(cfg, "train", cfg.n_train or 10**9)
        val = _folder_pairs(cfg, "val", cfg.n_val)
        test = _folder_pairs(cfg, "test", cfg.n_test)
        return {"train": train, "val": val, "test": test}
    return {
        "train": paired_set(cfg.task, cfg.n_train, cfg.image_size, "train", seed=cfg.seed),
        "val": paired_set(cfg.task, cfg.n_val, cfg.image_size, "train", seed=cfg.seed + 10_000),
        "test": paired_set(cfg.task, cfg.n_test, cfg.image_size, "test", seed=cfg.seed + 20_000),
    }


# ---- one training run -----------------------------------------------------------------------------
def _gan_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))


def train(cfg: Pix2PixConfig, optimizer: str, lambda_l1: float, data: dict, seed_offset: int = 0,
          report=None, curve: bool = True, options: "dict | None" = None) -> dict:
    """Train one generator; per-epoch test metrics (FID every ``fid_every`` epochs) and final metrics.

    ``report(epoch, generator)`` is called after each epoch (Hyperband's pruning hook);
    ``options`` go to MTAdam (a Table 5 variant).
    """
    dev = device()
    torch.manual_seed(cfg.seed * 1009 + seed_offset)
    generator = create_model("pix2pix_unet", ngf=cfg.ngf, depth=cfg.depth).to(dev)
    discriminator = create_model("patchgan", ndf=cfg.ndf).to(dev)
    opt_g = make_optimizer(optimizer, generator, lr=cfg.lr, betas=(0.5, 0.999), **(options or {}))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    x_train, y_train = (t.to(dev) for t in data["train"])
    x_test, y_test = (t.to(dev) for t in data["test"])
    test_features = metrics.REFERENCE_FEATURES(y_test)
    order = torch.Generator().manual_seed(cfg.seed)
    curves = []
    for epoch in range(1, cfg.epochs + 1):
        perm = torch.randperm(len(x_train), generator=order).to(dev)
        for i in range(0, len(perm), cfg.batch_size):
            x, y = x_train[perm[i : i + cfg.batch_size]] * 2 - 1, y_train[perm[i : i + cfg.batch_size]] * 2 - 1
            fake = generator(x)
            d_loss = 0.5 * (_gan_loss(discriminator(torch.cat([x, y], 1)), True)
                            + _gan_loss(discriminator(torch.cat([x, fake.detach()], 1)), False))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            terms = [lambda_l1 * (fake - y).abs().mean(), cfg.lambda_gan * _gan_loss(discriminator(torch.cat([x, fake], 1)), True)]
            opt_g.step(terms)  # MTAdam: L1 (anchor) and GAN terms separately; others: their sum
        if curve:
            with_fid = epoch % cfg.fid_every == 0 or epoch == cfg.epochs
            curves.append({"epoch": epoch, **evaluate(predict(generator, x_test), y_test, test_features if with_fid else None)})
        if report is not None:
            report(epoch, generator)
    fake = predict(generator, x_test)
    final = evaluate(fake, y_test, test_features)
    return {"final": final, "curves": curves, "samples": to_uint8_images(fake[: cfg.n_samples]), "generator": generator}


# ---- Hyperband over lambda_L1 ------------------------------------------------------------------
def hyperband(cfg: Pix2PixConfig, data: dict) -> dict:
    """Hyperband (random sampling of log lambda_L1) minimising validation FID with Adam."""
    x_val = data["val"][0].to(device())
    val_features = metrics.REFERENCE_FEATURES(data["val"][1].to(device()))

    def train_trial(params: dict, number: int, report) -> dict:
        def after_epoch(epoch: int, generator) -> None:
            fake = predict(generator, x_val)
            ok = torch.isfinite(fake).all()
            report(epoch, metrics.frechet_distance(metrics.inception_features(fake), val_features) if ok else float("inf"))

        out = train(cfg, "Adam", params["lambda_l1"], data, seed_offset=1 + number, report=after_epoch, curve=False)
        return {**out["final"], "samples": out["samples"]}

    suggest = lambda trial: {"lambda_l1": trial.suggest_float("lambda_l1", cfg.hyperband_low, cfg.hyperband_high, log=True)}  # noqa: E731
    result = hyperband_search(f"pix2pix-{cfg.task}-seed{cfg.seed}", suggest, train_trial, cfg.hyperband_trials, cfg.epochs, cfg.seed)
    return {"best_lambda_l1": result["best_params"]["lambda_l1"], **result}


@experiment("mtadam/table2_pix2pix", resumable=True)
def run(cfg: Pix2PixConfig, checkpoint) -> dict:
    """All Table 2 rows for one task; resumable method by method."""
    data = datasets(cfg)
    state = checkpoint.load() if checkpoint.exists() else {"methods": {}}
    lambdas = {"unbalanced": cfg.lambda_l1_unbalanced, "balanced": cfg.lambda_l1_balanced}
    train_methods(state, checkpoint, f"Table 2 ({cfg.task})", lambda optimizer, setting: train(cfg, optimizer, lambdas[setting], data))
    if "hyperband" not in state:
        state["hyperband"] = hyperband(cfg, data)
        checkpoint.save(state)
    hb = state["hyperband"]
    state["methods"]["Hyperband-FID"] = {"final": {k: hb["best"][k] for k in ("L1", "L2", "NMSE", "FID")},
                                         "curves": [], "samples": hb["best"]["samples"]}
    x_test, y_test = data["test"]
    return {"task": cfg.task, "methods": state["methods"], "hyperband": {k: v for k, v in hb.items() if k != "best"},
            "inputs": to_uint8_images(x_test[: cfg.n_samples]), "targets": to_uint8_images(y_test[: cfg.n_samples]),
            "sizes": {k: len(data[k][0]) for k in ("train", "val", "test")}}


@experiment("mtadam/table2_reference")
def reference(cfg: Pix2PixConfig) -> dict:
    """Table 2's reference row (:data:`repro.mtadam.experiments.gans.REFERENCE`) alone, trained as in
    :func:`run`: its final test metrics, for the seed spread (:func:`repro.mtadam.experiments.gans.reference_runs`)."""
    return train(cfg, "MTAdam", cfg.lambda_l1_unbalanced, datasets(cfg), curve=False)["final"]


# ---- tables and verdicts ---------------------------------------------------------------------
def summary(results: dict[str, dict], columns: dict[str, str]) -> pd.DataFrame:
    """Our Table 2 in the paper's layout: one row per method, ``<paper column>_<metric>`` columns."""
    rows = []
    for name in ORDER:
        row = {"method": name}
        for task, prefix in columns.items():
            for metric in ("L1", "L2", "NMSE", "FID"):
                row[f"{prefix}_{metric}"] = results[task]["methods"][name]["final"][metric]
        rows.append(row)
    return pd.DataFrame(rows)


def deviations(cfg: Pix2PixConfig, results: dict[str, dict]) -> pd.DataFrame:
    """How this run departs from the paper's pix2pix protocol."""
    sizes = next(iter(results.values()))["sizes"]
    data = ("the real folders under data_root" if cfg.scale is Scale.PAPER
            else f"photo-bank renderings: {sizes['train']} train / {sizes['test']} test crops per task")
    return pd.DataFrame([
        {"item": "data", "paper": "CMP facades (400 train), maps (1,096 train)", "ours": data},
        {"item": "resolution / network", "paper": "256x256, U-Net-256 (8 levels, 64 filters)",
         "ours": f"{cfg.image_size}x{cfg.image_size}, U-Net with {cfg.depth} levels, {cfg.ngf} filters"},
        {"item": "training", "paper": "200 epochs, batch 1", "ours": f"{cfg.epochs} epochs, batch {cfg.batch_size}"},
        {"item": "Hyperband", "paper": "40 trials", "ours": f"{cfg.hyperband_trials} trials (Optuna HyperbandPruner, random sampling)"},
        {"item": "FID", "paper": "full test sets", "ours": f"{sizes['test']} test images"},
    ])


# ---- the run bank ---------------------------------------------------------------------------------
#: Each task's table run at ``scale="cpu"`` (five optimiser rows and six Hyperband trials, one after
#: another, one thread) took 401 s (labels -> photo) and 424 s (photo -> map) built alone by
#: ``repro bank build``, over the bank's 5 minutes on 2 cores: the book reads them from ``data/bank/``
#: and computes the seed-spread runs.
for _task in ("labels2photo", "photo2map"):  # summary.PIX2PIX_TASKS
    bank.register(f"mtadam-table2-{_task}", lambda task=_task: runner.Run(run, config(task, "cpu")))
