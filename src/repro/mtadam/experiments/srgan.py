r"""MTAdam, Table 4 and Fig. 7: SRGAN (4x super-resolution) with unbalanced loss weights.

SRGAN (Ledig et al. 2017) trains an SRResNet generator with

.. math::
    L = \lambda_{MSE}\,\lVert G(x_{LR}) - x_{HR}\rVert_2^2
      + \lambda_{VGG}\,\lVert \phi(G(x_{LR})) - \phi(x_{HR})\rVert_2^2
      + \lambda_{GAN}\,\mathrm{BCE}(D(G(x_{LR})), 1)

with :math:`\phi` a VGG feature map (VGG-19 ``relu5_4`` in SRGAN; no VGG-19 exists offline, so
VGG-16 here: ``relu3_3`` at the small ``cpu`` crops, ``relu5_3`` at ``scale="paper"``).
Prescribed :math:`(\lambda_{MSE}, \lambda_{GAN}, \lambda_{VGG}) = (1, 0.001, 0.006)`; the paper
unbalances all three to 1. MTAdam receives the terms separately, MSE first (the anchor).

Test sets: the Set14 images that exist offline (``monarch``, ``barbara``: a "Set14-like" set)
and the other held-out photos (standing in for BSD100), or the real ``<data_root>/set14`` and
``<data_root>/bsd100`` folders at ``scale="paper"``, where the training and validation crops are
one random ``hr_size`` crop of each of the first ``n_train`` images of ``<data_root>/imagenet_val``
(SRGAN trained on a random ImageNet sample; the first ``n_val`` crops validate). PSNR and SSIM
on the luma channel with a ``factor``-pixel border removed (the super-resolution convention); FID
between the super-resolved and the true high-resolution images cut into ``hr_size`` tiles (a
handful of whole images is too few for FID).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from repro import metrics
from repro.config import ExperimentConfig, Scale
from repro.data.folders import dataset_path, list_images
from repro.data.images import center_square, decode_image, resize, to_tensor, to_uint8_images
from repro.data.photos import load_photo, photo_ids, random_crops
from repro.mtadam.hyperband import search as hyperband_search
from repro.mtadam.experiments.gans import ORDER, train_methods
from repro.mtadam.baselines import make_optimizer
from repro.runtime import device
from repro.store import experiment
from repro.zoo import create_model

#: Loss weights (MSE, VGG, GAN) per setting; Hyperband searches the last two.
WEIGHTS = {"unbalanced": (1.0, 1.0, 1.0), "balanced": (1.0, 0.006, 0.001)}
#: The Set14 images in the photo bank; the other test photos stand in for BSD100.
SET14_OFFLINE = ("monarch", "barbara")
TEST_SETS = {"set14": "Set14-like", "bsd100": "held-out photos"}
#: ITU-R BT.601 luma (the "Y" of YCbCr) in [0, 1].
_Y = torch.tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1) / 255.0


@dataclasses.dataclass(frozen=True)
class SRGANConfig(ExperimentConfig):
    hr_size: int = 32
    factor: int = 4
    eval_size: int = 96
    n_train: int = 256
    n_val: int = 16
    epochs: int = 8
    batch_size: int = 16
    width: int = 32
    n_blocks: int = 4
    d_width: int = 16
    lr: float = 5e-4
    bicubic_skip: bool = True
    vgg_layer: str = "relu3_3"
    fid_every: int = 8
    hyperband_trials: int = 4
    hyperband_low: float = 1e-4
    hyperband_high: float = 1.0
    n_samples: int = 2

    VERSION = 1

    NAME = "mtadam.srgan"
    PRESETS: ClassVar[dict] = {
        Scale.SMOKE: dict(hr_size=16, eval_size=32, n_train=16, n_val=4, epochs=2, batch_size=8, width=8, n_blocks=1,
                          d_width=8, vgg_layer="relu2_2", fid_every=2, hyperband_trials=2, n_samples=1),
        Scale.CPU: dict(epochs=4, fid_every=4),  # not 8: the MTAdam part's 14 minutes of the 40-minute book budget (README)
        Scale.PAPER: dict(hr_size=96, eval_size=96, n_train=20_000, n_val=100, epochs=50, width=64, n_blocks=16, d_width=64,
                          lr=1e-4, bicubic_skip=False, vgg_layer="relu5_3", fid_every=5, hyperband_trials=40),
    }
    AT_LEAST_ONE = ("n_train", "n_val", "epochs", "batch_size", "fid_every", "hyperband_trials", "n_blocks")

    def validate(self) -> None:
        super().validate()
        if self.factor not in (2, 4, 8):
            raise ValueError(f"factor must be 2, 4 or 8, got {self.factor}")
        for name in ("hr_size", "eval_size"):
            if getattr(self, name) % self.factor or getattr(self, name) < 8 * self.factor // 2:
                raise ValueError(f"{name} must be a multiple of factor and >= {4 * self.factor}, got {getattr(self, name)}")
        if self.eval_size % self.hr_size and self.scale is not Scale.PAPER:
            raise ValueError(f"eval_size ({self.eval_size}) must be a multiple of hr_size ({self.hr_size}) for FID tiles")


#: The config of a scale (:meth:`ExperimentConfig.create`)
config = SRGANConfig.create


# ---- data ---------------------------------------------------------------------------------------
def downscale(hr: torch.Tensor, factor: int) -> torch.Tensor:
    """Bicubic (antialiased) downscaling by ``factor``, as SRGAN's low-resolution inputs."""
    return F.interpolate(hr, scale_factor=1 / factor, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def _test_image(array: np.ndarray, cfg: SRGANConfig) -> torch.Tensor:
    """A test image as (1, 3, H, W): the centre square of side <= 4 * eval_size resized to eval_size,
    or (scale='paper') the whole image cropped to a multiple of ``factor``."""
    image = to_tensor([array])
    if cfg.scale is Scale.PAPER:
        h, w = (s - s % cfg.factor for s in image.shape[-2:])
        return image[..., :h, :w]
    h, w = image.shape[-2:]
    side = min(h, w, 4 * cfg.eval_size)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[..., top : top + side, left : left + side]
    return F.interpolate(crop, size=(cfg.eval_size,) * 2, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def _native_crop(array: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` x ``size`` crop at the image's own resolution (resized up if the image is smaller)."""
    h, w = array.shape[:2]
    if min(h, w) < size:
        return resize(center_square(array), size)
    top, left = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
    return array[top : top + size, left : left + size]


def datasets(cfg: SRGANConfig) -> dict:
    """Training / validation high-resolution crops and the two test sets (lists of images)."""
    if cfg.scale is Scale.PAPER:  # one random native hr_size crop per image, as SRGAN's 96x96 crops
        rng = np.random.default_rng(cfg.seed)
        train = to_tensor([_native_crop(decode_image(p, "Replace or remove that file."), cfg.hr_size, rng)
                           for p in list_images(dataset_path(cfg.data_root, "imagenet_val"))[: cfg.n_train]])
        tests = {key: [_test_image(decode_image(p, "Replace or remove that file."), cfg) for p in list_images(dataset_path(cfg.data_root, key))]
                 for key in TEST_SETS}
        return {"train": train[cfg.n_val :], "val": train[: cfg.n_val], "test": tests}
    crops = lambda n, seed: random_crops(n, cfg.hr_size, "train", seed=seed, min_side=cfg.hr_size, max_side=4 * cfg.hr_size)  # noqa: E731
    held_out = [i for i in photo_ids("test") if i not in SET14_OFFLINE]
    tests = {"set14": [_test_image(load_photo(i), cfg) for i in SET14_OFFLINE],
             "bsd100": [_test_image(load_photo(i), cfg) for i in held_out]}
    return {"train": crops(cfg.n_train, cfg.seed), "val": crops(cfg.n_val, cfg.seed + 10_000), "test": tests}


# ---- metrics ------------------------------------------------------------------------------------
def _luma(x: torch.Tensor, border: int) -> torch.Tensor:
    y = (x * _Y.to(x.device)).sum(1, keepdim=True) + 16 / 255
    return y[..., border:-border, border:-border] if border else y


def _tiles(x: torch.Tensor, size: int) -> torch.Tensor:
    """Non-overlapping ``size`` tiles of (1, 3, H, W) images -> (T, 3, size, size)."""
    t = x[..., : x.shape[-2] - x.shape[-2] % size, : x.shape[-1] - x.shape[-1] % size]
    t = t.unfold(2, size, size).unfold(3, size, size)  # 1, 3, nh, nw, size, size
    return t.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, size, size)


def super_resolve(generator, hr_images: list, factor: int) -> list:
    """Each high-resolution test image's super-resolved reconstruction from its bicubic downscale."""
    generator.eval()
    with torch.no_grad():
        out = [generator(downscale(hr.to(device()), factor)).clamp(0, 1) for hr in hr_images]
    generator.train()
    return out


class _Evaluator:
    """PSNR / SSIM (luma, border removed) per image, averaged, and FID over tiles, per test set of
    ``data["test"]``; the true tiles' Inception features computed once."""

    def __init__(self, data: dict, cfg: SRGANConfig) -> None:
        self.cfg, self.tests = cfg, data["test"]
        self.features = {k: metrics.REFERENCE_FEATURES(torch.cat([_tiles(x, cfg.hr_size) for x in images]).to(device()))
                         for k, images in self.tests.items()}

    def __call__(self, generator, with_fid: bool = True) -> tuple[dict, dict]:
        row, outputs = {}, {}
        for key, images in self.tests.items():
            sr = super_resolve(generator, images, self.cfg.factor)
            outputs[key] = sr
            if not all(torch.isfinite(s).all() for s in sr):  # a diverged run
                row.update({f"{key}_{m}": float("nan") for m in ("PSNR", "SSIM", "FID")})
                continue
            pairs = [(_luma(s, self.cfg.factor), _luma(h.to(s.device), self.cfg.factor)) for s, h in zip(sr, images)]
            row[f"{key}_PSNR"] = float(np.mean([float(metrics.psnr(s, h)) for s, h in pairs]))
            row[f"{key}_SSIM"] = float(np.mean([float(metrics.ssim(s, h)) for s, h in pairs]))
            fake = torch.cat([_tiles(s, self.cfg.hr_size) for s in sr])
            row[f"{key}_FID"] = metrics.frechet_distance(metrics.inception_features(fake), self.features[key]) if with_fid else float("nan")
        return row, outputs


def bicubic(cfg: SRGANConfig, data: dict) -> dict:
    """Bicubic upscaling of the same inputs: the floor any trained model should clear (not in the paper)."""
    return _Evaluator(data, cfg)(_Bicubic(cfg.factor))[0]


class _Bicubic(torch.nn.Module):
    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.factor, mode="bicubic", align_corners=False)


# ---- one training run -----------------------------------------------------------------------------
def train(cfg: SRGANConfig, optimizer: str, weights: tuple[float, float, float], data: dict, seed_offset: int = 0,
          report=None, curve: bool = True) -> dict:
    """Train one SRGAN; per-epoch test metrics (FID every ``fid_every`` epochs) and final metrics.

    ``weights`` = (MSE, VGG, GAN); ``report(epoch, generator)`` is Hyperband's hook.
    """
    dev = device()
    vgg = create_model("vgg16_features", pretrained=True).to(dev)
    torch.manual_seed(cfg.seed * 1009 + seed_offset)
    generator = create_model("srresnet", width=cfg.width, n_blocks=cfg.n_blocks, factor=cfg.factor, bicubic_skip=cfg.bicubic_skip).to(dev)
    discriminator = create_model("srgan_discriminator", width=cfg.d_width).to(dev)
    opt_g = make_optimizer(optimizer, generator, lr=cfg.lr, betas=(0.9, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
    hr_train = data["train"].to(dev)
    lr_train = downscale(hr_train, cfg.factor)
    evaluator = _Evaluator(data, cfg)
    order = torch.Generator().manual_seed(cfg.seed)
    bce = lambda logits, real: F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))  # noqa: E731
    curves, final = [], None
    for epoch in range(1, cfg.epochs + 1):
        perm = torch.randperm(len(hr_train), generator=order).to(dev)
        for i in range(0, len(perm), cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            hr, sr = hr_train[idx], generator(lr_train[idx])
            d_loss = bce(discriminator(hr), True) + bce(discriminator(sr.detach()), False)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            discriminator.requires_grad_(False)
            terms = [F.mse_loss(sr, hr), F.mse_loss(vgg(sr, cfg.vgg_layer), vgg(hr, cfg.vgg_layer)), bce(discriminator(sr), True)]
            opt_g.step([w * t for w, t in zip(weights, terms)])  # MTAdam: MSE (anchor), VGG, GAN; others: their sum
            discriminator.requires_grad_(True)
        if curve:
            row, outputs = evaluator(generator, epoch % cfg.fid_every == 0 or epoch == cfg.epochs)
            curves.append({"epoch": epoch, **row})
            final = row if epoch == cfg.epochs else None
        if report is not None:
            report(epoch, generator)
    if final is None:
        final, outputs = evaluator(generator)
    samples = {key: to_uint8_images(torch.cat(out[: cfg.n_samples])) for key, out in outputs.items()}
    return {"final": final, "curves": curves, "samples": samples, "generator": generator}


# ---- Hyperband over (lambda_VGG, lambda_GAN) ---------------------------------------------------------
def hyperband(cfg: SRGANConfig, data: dict) -> dict:
    """Hyperband (random sampling of log lambda_VGG and log lambda_GAN, lambda_MSE = 1) minimising validation FID."""
    dev = device()
    hr_val = data["val"].to(dev)
    lr_val = downscale(hr_val, cfg.factor)
    val_features = metrics.inception_features(hr_val)

    def val_fid(generator) -> float:
        generator.eval()
        with torch.no_grad():
            sr = generator(lr_val).clamp(0, 1)
        generator.train()
        return metrics.frechet_distance(metrics.inception_features(sr), val_features) if torch.isfinite(sr).all() else float("inf")

    def train_trial(params: dict, number: int, report) -> dict:
        weights = (1.0, params["lambda_vgg"], params["lambda_gan"])
        out = train(cfg, "Adam", weights, data, seed_offset=1 + number, report=lambda e, g: report(e, val_fid(g)), curve=False)
        return {**out["final"], "samples": out["samples"]}

    def suggest(trial) -> dict:
        return {name: trial.suggest_float(name, cfg.hyperband_low, cfg.hyperband_high, log=True) for name in ("lambda_vgg", "lambda_gan")}

    return hyperband_search(f"srgan-seed{cfg.seed}", suggest, train_trial, cfg.hyperband_trials, cfg.epochs, cfg.seed)


@experiment("mtadam/table4_srgan", resumable=True)
def run(cfg: SRGANConfig, checkpoint) -> dict:
    """All Table 4 rows (plus bicubic upscaling as a floor); resumable method by method."""
    data = datasets(cfg)
    state = checkpoint.load() if checkpoint.exists() else {"methods": {}}
    train_methods(state, checkpoint, "Table 4 (SRGAN)", lambda optimizer, setting: train(cfg, optimizer, WEIGHTS[setting], data))
    if "hyperband" not in state:
        state["hyperband"] = hyperband(cfg, data)
        checkpoint.save(state)
    hb = state["hyperband"]
    keys = [f"{s}_{m}" for s in TEST_SETS for m in ("PSNR", "SSIM", "FID")]
    state["methods"]["Hyperband-FID"] = {"final": {k: hb["best"][k] for k in keys}, "curves": [], "samples": hb["best"]["samples"]}
    n = cfg.n_samples
    return {"methods": state["methods"], "bicubic": bicubic(cfg, data), "hyperband": {k: v for k, v in hb.items() if k != "best"},
            "inputs": {k: to_uint8_images(F.interpolate(downscale(torch.cat(v[:n]), cfg.factor), scale_factor=cfg.factor, mode="nearest"))
                       for k, v in data["test"].items()},
            "targets": {k: to_uint8_images(torch.cat(v[:n])) for k, v in data["test"].items()},
            "sizes": {"train": len(data["train"]), **{k: len(v) for k, v in data["test"].items()}}}


@experiment("mtadam/table4_reference")
def reference(cfg: SRGANConfig) -> dict:
    """Table 4's reference row (:data:`repro.mtadam.experiments.gans.REFERENCE`) alone, trained as in
    :func:`run`: its final test metrics, for the seed spread (:func:`repro.mtadam.experiments.gans.reference_runs`)."""
    return train(cfg, "MTAdam", WEIGHTS["unbalanced"], datasets(cfg), curve=False)["final"]


# ---- tables and verdicts ---------------------------------------------------------------------
def summary(results: dict) -> pd.DataFrame:
    """Our Table 4 in the paper's layout, plus a bicubic row (ours only)."""
    rows = [{"method": name, **results["methods"][name]["final"]} for name in ORDER]
    rows.append({"method": "Bicubic (not in the paper)", **results["bicubic"]})
    return pd.DataFrame(rows)


def deviations(cfg: SRGANConfig, results: dict) -> pd.DataFrame:
    sizes = results["sizes"]
    return pd.DataFrame([
        {"item": "training data", "paper": "350k ImageNet images, 96x96 crops",
         "ours": f"{sizes['train']} {cfg.hr_size}x{cfg.hr_size} crops of the photo bank's training photos" if cfg.scale is not Scale.PAPER else "imagenet_val folder"},
        {"item": "test sets", "paper": "Set14 (14 images), BSD100 (100 images)",
         "ours": f"Set14-like: {', '.join(SET14_OFFLINE)}; held-out: the other {sizes['bsd100']} test photos, {cfg.eval_size}x{cfg.eval_size} each"},
        {"item": "perceptual loss", "paper": "VGG-19 relu5_4 (SRGAN's VGG54)", "ours": f"VGG-16 {cfg.vgg_layer} (no VGG-19 offline)"},
        {"item": "networks", "paper": "SRResNet 16 blocks x 64, SRGAN discriminator",
         "ours": f"SRResNet {cfg.n_blocks} blocks x {cfg.width}, discriminator width {cfg.d_width} with global pooling"},
        {"item": "training", "paper": "MSE-pretrained SRResNet, then 2x10^5 GAN steps",
         "ours": f"from scratch, {cfg.epochs} epochs of batch {cfg.batch_size}, lr {cfg.lr:g}"},
        {"item": "generator output", "paper": "the image", "ours": "added to a bicubic upscale of the input (global residual)"
         if cfg.bicubic_skip else "the image"},
        {"item": "FID", "paper": "on the test images", "ours": f"on {cfg.hr_size}x{cfg.hr_size} tiles of the test images"},
    ])


# Not in the run bank: the table run at ``scale="cpu"`` took 489 s built alone by ``repro bank build``
# (over the bank's 5 minutes), but its record is 17 MB (the super-resolved samples as JSON), too large
# to commit to git; the book computes it until the record stores its images compactly.
