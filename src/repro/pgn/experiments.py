"""PGN experiments (Nikulin et al., Tables 1-8, Figs. 2-15): stored, reusable runs.

* :func:`cost` — Tables 1/6, Figs. 2/8: parameters, MACs, time and peak memory of producing a
  gradient (perceptual loss forward-backward vs PGN forward) at several resolutions.
* :func:`dip` — Tables 5 and 2/7 (left), Figs. 3/10, Table 4 "DIP": Deep Image Prior driven by each
  gradient source on held-out photos; the stability rules and the final quality.
* :func:`inversion` — Tables 2/7 (right), Figs. 4/11/15, Table 4 "Im2SG": latent inversion of a small
  generator trained on photo-bank crops (no StyleGAN offline), MSE warm start then each loss.
* :func:`reference_runs` — the seed spread of :data:`REFERENCE` in each of the three (its runs alone
  at the other seeds of :data:`repro.report.SEEDS`: ``dip_reference``, ``inversion_reference``, ``heads_reference``).
* :func:`heads` — Tables 3/8, Figs. 6/12/13, Table 4 "Heads": few-shot fine-tuning of a pretrained
  sketch-to-photo generator on 8 crops of one held-out photo, scored on 8 other crops of it.

The PGNs are the trained ones of the zoo (:mod:`repro.pgn.checkpoints`: the committed cpu-scale
checkpoints below scale='paper'; at scale='paper' those of ``repro train-pgn --scale paper``).

What each reads under ``data_root`` at scale='paper' (the layout: :mod:`repro.data.folders`): DIP the
first ``n_images`` of ``<data_root>/imagenet_val``; the others nothing, at any scale. :func:`cost`
is a benchmark on random tensors; no StyleGAN (FFHQ), talking-heads model or VoxCeleb2 exists
offline, so the inversion and talking-heads experiments stay analogues on the photo bank and only
take the paper's sizes (N images, T iterations, the paper's learning rate). All but :func:`cost`
use the trained PGNs of their scale: at scale='paper' those of ``repro train-pgn --scale paper``.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
from typing import ClassVar

import numpy as np
import torch
from tqdm import tqdm

from repro import report, runner
from repro.config import ExperimentConfig, Scale, parse_scale
from repro.data.folders import ImageFolder, dataset_path
from repro.data.images import resize, to_tensor, to_uint8_images
from repro.data.photos import load_photo, photo_ids, photos, random_crops
from repro.metrics import lpips
from repro.pgn import checkpoints
from repro.pgn.cost import gradient_costs
from repro.pgn.pgn import PGN, PGNConfig, alexnet_loss, vgg_loss
from repro.pgn.tasks import (SketchGenerator, deep_image_prior, edge_sketch, fit, invert, mse_source, perceptual_source,
                             perceptual_values, pgn_source, render, stability, train_generator, true_gradient_cosine)
from repro.runtime import device
from repro.store import experiment
from repro.zoo.pgn_backbones import backbone

#: Display name -> (zoo name, mode) of the PGNs the chapters compare.
PGNS = {"ResNet-4": ("pgn_resnet4", "constrained"), "ResNet-6": ("pgn_resnet6", "constrained"),
        "ResNet-8": ("pgn_resnet8", "constrained"), "UNet": ("pgn_unet", "constrained")}
#: Table 5's other two parametrisations (ResNet-4 here; the paper's were ResNet-8).
VARIANTS = {"Direct grad. ResNet-4": ("pgn_resnet4", "direct"), "Unconstr. proxy ResNet-4": ("pgn_resnet4", "proxy")}
ALL_PGNS = {**PGNS, **VARIANTS}
BASELINES = ("MSE", "PL-VGG-16", "PL-AlexNet")
#: The loss every quality table is read against (the true perceptual loss the PGNs approximate); its
#: seed-to-seed spread is shown under each table (:func:`reference_runs`).
REFERENCE = "PL-VGG-16"
#: The PGN whose untrained twin is Table 4's floor, scored on the images the trained one produced.
CONTROLLED = "ResNet-4"


def pgn_scale(scale: Scale) -> str:
    """Which trained PGNs a run uses: the paper's (cache) at scale='paper', else the committed cpu ones."""
    return "paper" if scale is Scale.PAPER else checkpoints.SHIPPED_PGN_SCALE


def _losses():
    """The VGG-16 and AlexNet perceptual losses (their frozen networks shared) on :func:`repro.runtime.device`."""
    return vgg_loss().to(device()), alexnet_loss().to(device())


def sources(scale: Scale, names: "tuple | None" = None, seed: int = 0) -> dict:
    """Gradient sources by display name (baselines, constrained PGNs, Table 5 variants). The
    :data:`CONTROLLED` PGN carries its untrained twin (:func:`untrained_source` of ``seed``) as
    ``control``, which the experiments score on its final images."""
    vgg, alex = _losses()
    out = {"MSE": lambda: mse_source(), "PL-VGG-16": lambda: perceptual_source("PL-VGG-16", vgg),
           "PL-AlexNet": lambda: perceptual_source("PL-AlexNet", alex)}
    for label, (name, mode) in ALL_PGNS.items():
        out[label] = functools.partial(lambda lb, n, m: pgn_source(lb, checkpoints.load(n, m, pgn_scale(scale)).to(device())), label, name, mode)
    chosen = {k: f() for k, f in out.items() if names is None or k in names}
    if CONTROLLED in chosen:
        chosen[CONTROLLED].control = untrained_source(scale, seed)
    return chosen


def load_pgn(label: str, scale: "str | Scale" = "cpu"):
    """A trained PGN by its display name (``"ResNet-4"``, ``"Direct grad. ResNet-4"``, ...)."""
    name, mode = ALL_PGNS[label]
    return checkpoints.load(name, mode, pgn_scale(parse_scale(scale)))


def untrained_source(scale: Scale, seed: int = 0):
    """An untrained :data:`CONTROLLED` PGN (same backbone, mode and width as the trained one, initialised
    from ``seed`` on a forked RNG): the floor a trained PGN's cosine similarity must beat (Table 4)."""
    name, mode = ALL_PGNS[CONTROLLED]
    config = checkpoints.entry(name, mode, pgn_scale(scale))["config"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = PGN(backbone(config["backbone"], config["width"]), PGNConfig(mode=mode))
    return pgn_source(f"untrained {CONTROLLED}", network.to(device()))


def quality(y_hat: torch.Tensor, y: torch.Tensor) -> dict:
    """Per-image MSE (x 1e3, as the paper reports it), true VGG-16 perceptual loss and LPIPS."""
    vgg, _ = _losses()
    return {"MSEx1e3": ((y_hat - y) ** 2).flatten(1).mean(1) * 1e3, "PL": perceptual_values(vgg, y_hat, y),
            "LPIPS": lpips(y_hat.clamp(0, 1), y, net="vgg")}


def held_out_photos(cfg, n: int) -> torch.Tensor:
    """The photo bank's test photos (never seen by the PGNs or VGG's perceptual-loss training here); at
    scale='paper' the first ``n`` ImageNet validation images under ``<data_root>/imagenet_val``."""
    if cfg.scale is Scale.PAPER:
        return ImageFolder(dataset_path(cfg.data_root, "imagenet_val"), cfg.image_size, limit=n).load_all()
    return photos("test", cfg.image_size)[:n]


# ---- Tables 1/6, Figs. 2/8 ---------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GradientCostConfig(ExperimentConfig):
    VERSION = 2
    resolutions: tuple = (64, 128, 256)
    batch: int = 2
    repeats: int = 3
    memory: bool = True

    NAME = "pgn.cost"
    PRESETS: ClassVar[dict] = {Scale.SMOKE: dict(resolutions=(32, 64), repeats=1, memory=False), Scale.CPU: dict(),
                               Scale.PAPER: dict(resolutions=(128, 256, 512), repeats=10)}

    def validate(self) -> None:
        super().validate()
        if not self.resolutions or any(r % 32 for r in self.resolutions):
            raise ValueError(f"resolutions must be multiples of 32 (the UNet's), got {self.resolutions}")


#: The config of a scale (:meth:`ExperimentConfig.create`). Reads nothing under ``data_root`` at any scale (random tensors).
cost_config = GradientCostConfig.create


@experiment("pgn/cost", benchmark=True)
def cost(cfg: GradientCostConfig) -> dict:
    return gradient_costs(cfg.resolutions, cfg.batch, cfg.repeats, cfg.memory)


# ---- Deep Image Prior (Tables 2/7 left, 5; Figs. 3/10) -----------------------------------------------
@dataclasses.dataclass(frozen=True)
class DIPConfig(ExperimentConfig):
    VERSION = 3  # 3: images stored as (H, W, 3)
    image_size: int = 32
    n_images: int = 8
    steps: int = 200
    track_every: int = 5
    patience_fraction: float = 0.2  # the paper: 2000 of 10000 iterations
    lr: float = 0.01
    width: int = 32

    NAME = "pgn.dip"
    # cpu: 100 steps, not 200: the PGN part's 8 minutes of the 40-minute book budget on 2 cores (README).
    PRESETS: ClassVar[dict] = {Scale.SMOKE: dict(n_images=2, steps=6, track_every=1, width=8), Scale.CPU: dict(steps=100),
                               Scale.PAPER: dict(image_size=256, n_images=100, steps=10_000, track_every=1, width=128)}

    def validate(self) -> None:
        super().validate()
        if self.image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8 (DIP depth 3), got {self.image_size}")
        if not 0 < self.patience_fraction <= 1:
            raise ValueError("patience_fraction must lie in (0, 1]")

    @property
    def patience(self) -> int:
        return max(1, round(self.patience_fraction * self.steps))


#: The config of a scale (:meth:`ExperimentConfig.create`). At scale='paper' the targets are the first ``n_images`` of ``<data_root>/imagenet_val``.
dip_config = DIPConfig.create


@experiment("pgn/dip")
def dip(cfg: DIPConfig) -> dict:
    """Every source drives DIP on the same images; per source: the tracked true perceptual loss, each
    image's stability outcome, the final quality and (PGNs) the final gradient cosine."""
    return _dip(cfg)


@experiment("pgn/dip_reference")
def dip_reference(cfg: DIPConfig) -> dict:
    """:data:`REFERENCE` alone driving DIP, as in :func:`dip` (its seed spread, :func:`reference_runs`)."""
    return _dip(cfg, (REFERENCE,))


def _dip(cfg: DIPConfig, names: "tuple | None" = None) -> dict:
    targets = held_out_photos(cfg, cfg.n_images).to(device())
    vgg, _ = _losses()
    out = {"targets": to_uint8_images(targets), "runs": {}}
    for name, source in tqdm(sources(cfg.scale, names, seed=cfg.seed).items(), desc="DIP sources"):
        curve = deep_image_prior(targets, source, vgg, cfg.steps, cfg.lr, cfg.track_every, cfg.seed, cfg.width)
        per_image = np.asarray(curve["perceptual"]).T  # images x tracked iterations
        run = {"iterations": curve["iterations"], "perceptual": per_image,
               "stability": [stability(curve["iterations"], list(p), cfg.patience) for p in per_image],
               "quality": quality(curve["images"], targets), "images": to_uint8_images(curve["images"])}
        if source.pgn is not None:
            run["cosine"] = true_gradient_cosine(source, vgg, curve["images"], targets)
        out["runs"][name] = run
        if source.control is not None:
            out["untrained_cosine"] = true_gradient_cosine(source.control, vgg, curve["images"], targets)
    return out


# ---- Image2StyleGAN analogue (Tables 2/7 right, Figs. 4/11/15) -------------------------------------------
@dataclasses.dataclass(frozen=True)
class InversionConfig(ExperimentConfig):
    VERSION = 3  # 3: images stored as (H, W, 3)
    image_size: int = 32
    n_images: int = 8
    generator_steps: int = 400
    n_train: int = 2048
    warm_steps: int = 150
    steps: int = 150
    lr: float = 0.05  # Adam on the extended code (z and styles)
    lambda_vgg: float = 1.0  # the paper's lambda_MSE for the VGG loss
    lambda_pgn: float = 20.0  # ... and for the PGNs
    sweep: tuple = (0.0, 1.0, 5.0, 10.0, 20.0)  # Fig. 15, ResNet-4

    NAME = "pgn.inversion"
    # cpu: half the steps of the defaults (200 / 75 / 75): the PGN part's 8 minutes of the book budget (README).
    PRESETS: ClassVar[dict] = {Scale.SMOKE: dict(n_images=2, generator_steps=5, n_train=32, warm_steps=3, steps=3, sweep=(0.0, 20.0)),
                               Scale.CPU: dict(generator_steps=200, warm_steps=75, steps=75), Scale.PAPER: dict(n_images=100, generator_steps=50_000, n_train=20_000, warm_steps=5000, steps=1000)}

    def validate(self) -> None:
        super().validate()
        if self.image_size != 32 and self.scale is not Scale.PAPER:
            raise ValueError("the inversion generator makes 32x32 images below scale='paper'")


#: The config of a scale (:meth:`ExperimentConfig.create`). Reads nothing under ``data_root`` at any scale: photo-bank crops (no StyleGAN or FFHQ offline).
inversion_config = InversionConfig.create


def _score(images: torch.Tensor, targets: torch.Tensor) -> dict:
    return {"quality": quality(images, targets), "images": to_uint8_images(images)}


@experiment("pgn/inversion")
def inversion(cfg: InversionConfig) -> dict:
    """Train the generator on train-split crops, invert test-split crops: MSE warm start, then each loss
    (PL-VGG-16 + 1 MSE, PGNs + 20 MSE as in the paper), and ResNet-4 with each lambda_MSE of Fig. 15."""
    return _inversion(cfg, BASELINES + tuple(PGNS))


@experiment("pgn/inversion_reference")
def inversion_reference(cfg: InversionConfig) -> dict:
    """:data:`REFERENCE` alone, as in :func:`inversion` (generator, warm start; no Fig. 15 sweep)."""
    return _inversion(cfg, (REFERENCE,))


def _inversion(cfg: InversionConfig, names: tuple) -> dict:
    vgg, _ = _losses()
    train = random_crops(cfg.n_train, cfg.image_size, split="train", seed=cfg.seed, max_side=4 * cfg.image_size).to(device())
    generator, gen_losses = train_generator(train, cfg.generator_steps, seed=cfg.seed)
    targets = random_crops(cfg.n_images, cfg.image_size, split="test", seed=10_000 + cfg.seed, max_side=4 * cfg.image_size).to(device())
    warm = invert(generator, targets, mse_source(), cfg.warm_steps, lr=cfg.lr)
    out = {"targets": to_uint8_images(targets), "generator_loss": gen_losses, "warm": _score(render(generator, warm), targets),
           "runs": {}, "sweep": {}}
    srcs = sources(cfg.scale, names, cfg.seed)
    weights = {"MSE": 0.0, "PL-VGG-16": cfg.lambda_vgg, "PL-AlexNet": cfg.lambda_vgg}
    for name, source in tqdm(srcs.items(), desc="inversion sources"):
        images = render(generator, invert(generator, targets, source.plus_mse(weights.get(name, cfg.lambda_pgn)), cfg.steps, warm, cfg.lr))
        out["runs"][name] = _score(images, targets)
        if source.pgn is not None:
            out["runs"][name]["cosine"] = true_gradient_cosine(source, vgg, images, targets)
        if source.control is not None:
            out["untrained_cosine"] = true_gradient_cosine(source.control, vgg, images, targets)
    for lam in cfg.sweep if "ResNet-4" in srcs else ():  # Fig. 15: ResNet-4 + lambda_MSE * MSE (the main run is lambda_MSE = lambda_pgn)
        if lam == cfg.lambda_pgn:
            out["sweep"][f"{lam:g}"] = {k: out["runs"]["ResNet-4"][k] for k in ("quality", "images")}
            continue
        images = render(generator, invert(generator, targets, srcs["ResNet-4"].plus_mse(lam), cfg.steps, warm, cfg.lr))
        out["sweep"][f"{lam:g}"] = _score(images, targets)
    return out


# ---- talking-heads analogue (Tables 3/8, Figs. 6/12/13) -------------------------------------------------
@dataclasses.dataclass(frozen=True)
class HeadsConfig(ExperimentConfig):
    VERSION = 3  # 3: images stored as (H, W, 3)
    image_size: int = 32
    n_subjects: int = 3
    shots: int = 8
    pretrain_steps: int = 300
    n_train: int = 2048
    batch: int = 16
    steps: int = 50
    lr: float = 5e-4
    pretrain_lr: float = 2e-3
    lambda_pgn: float = 20.0
    width: int = 32

    NAME = "pgn.heads"
    # cpu: half the steps of the defaults (150 / 25): the PGN part's 8 minutes of the book budget (README).
    PRESETS: ClassVar[dict] = {Scale.SMOKE: dict(n_subjects=1, shots=2, pretrain_steps=3, n_train=16, batch=4, steps=2, width=8),
                               Scale.CPU: dict(pretrain_steps=150, steps=25), Scale.PAPER: dict(image_size=64, n_subjects=8, pretrain_steps=20_000, n_train=20_000, lr=5e-5)}


#: The config of a scale (:meth:`ExperimentConfig.create`). Reads nothing under ``data_root`` at any
#: scale: photo-bank crops (no talking-heads model or VoxCeleb2 offline).
heads_config = HeadsConfig.create


def subject_frames(cfg: HeadsConfig, subject: str) -> torch.Tensor:
    """2 x ``shots`` "frames" of one subject: crops of one held-out photo at a fixed zoom (a quarter of
    its short side) at random positions -- the same "person" in different "poses"."""
    img = load_photo(subject)
    side = min(img.shape[:2]) // 2
    rng = np.random.default_rng(cfg.seed * 31 + len(subject))
    crops = []
    for _ in range(2 * cfg.shots):
        top, left = int(rng.integers(img.shape[0] - side + 1)), int(rng.integers(img.shape[1] - side + 1))
        crops.append(resize(img[top:top + side, left:left + side], cfg.image_size))
    return to_tensor(crops)


@experiment("pgn/heads")
def heads(cfg: HeadsConfig) -> dict:
    """Pretrain a sketch -> photo generator on train-split crops (MSE + PL-VGG-16), then for each
    subject (a test photo) fine-tune a copy on its 8 "train" frames with each loss for ``steps``
    iterations and score the 8 "train" and 8 "holdout" frames."""
    return _heads(cfg, BASELINES + tuple(PGNS))


@experiment("pgn/heads_reference")
def heads_reference(cfg: HeadsConfig) -> dict:
    """:data:`REFERENCE` alone, as in :func:`heads` (same pretraining, subjects and fine-tuning)."""
    return _heads(cfg, (REFERENCE,))


def _heads(cfg: HeadsConfig, names: tuple) -> dict:
    vgg, _ = _losses()
    torch.manual_seed(cfg.seed)
    train = random_crops(cfg.n_train, cfg.image_size, split="train", seed=cfg.seed, max_side=4 * cfg.image_size).to(device())
    base = SketchGenerator(cfg.width).to(device())
    pretrain = perceptual_source("PL-VGG-16", vgg).plus_mse(20.0)
    fit(base, edge_sketch(train), train, pretrain, cfg.pretrain_steps, cfg.pretrain_lr, batch=cfg.batch, seed=cfg.seed, desc="pretrain")
    subjects = [s for s in photo_ids("test")][: cfg.n_subjects]
    weights = {"MSE": 0.0, "PL-VGG-16": 0.0, "PL-AlexNet": 0.0}  # the paper: VGG alone, PGNs + 20 MSE
    srcs = sources(cfg.scale, names, cfg.seed)
    out = {"subjects": subjects, "runs": {name: {"train": [], "holdout": [], "cosine": []} for name in ["pretrained", *srcs]}, "frames": {}, "untrained_cosine": []}
    for subject in tqdm(subjects, desc="subjects"):
        frames = subject_frames(cfg, subject).to(device())
        shots, holdout = frames[: cfg.shots], frames[cfg.shots:]
        out["frames"][subject] = to_uint8_images(frames[[0, cfg.shots]])
        for name, source in [("pretrained", None), *srcs.items()]:
            model = copy.deepcopy(base)
            if source is not None:
                fit(model, edge_sketch(shots), shots, source.plus_mse(weights.get(name, cfg.lambda_pgn)), cfg.steps, cfg.lr,
                    seed=cfg.seed, desc=f"fine-tune {name}")
            with torch.no_grad():
                images = {split: model(edge_sketch(x)) for split, x in (("train", shots), ("holdout", holdout))}
            for split, x in (("train", shots), ("holdout", holdout)):
                out["runs"][name][split].append({**quality(images[split], x), "example": to_uint8_images(images[split][:1])})
            if source is not None and source.pgn is not None:
                out["runs"][name]["cosine"].extend(true_gradient_cosine(source, vgg, images["train"], shots))
            if source is not None and source.control is not None:
                out["untrained_cosine"].extend(true_gradient_cosine(source.control, vgg, images["train"], shots))
    return out


# ---- the reference's seed spread --------------------------------------------------------------------------
_REFERENCE_OF = {"pgn/dip": dip_reference, "pgn/inversion": inversion_reference, "pgn/heads": heads_reference}


def reference_runs(main, cfg: ExperimentConfig) -> dict:
    """``{seed: result}`` at every seed of :data:`repro.report.SEEDS` for :data:`REFERENCE` in experiment
    ``main`` (:func:`dip`, :func:`inversion` or :func:`heads`): ``main``'s own run at ``cfg.seed``, the
    reference-only experiment at the others (the same arm: a seed fixes the arm's initialisation and data)."""
    return report.at_seeds(cfg, main, _REFERENCE_OF[main.experiment_name])


def chapter_runs(main, cfg: ExperimentConfig) -> list:
    """The runs of ``main``'s chapter (:func:`repro.runner.gather`): ``main`` at ``cfg.seed`` and its
    reference alone at the other seeds (:func:`reference_runs`)."""
    return runner.at_seeds(main, _REFERENCE_OF[main.experiment_name], cfg)
