r"""Training a PGN (Nikulin et al., Fig. 1 and Sec. 3.3): the autoencoder zoo.

Three autoencoders :math:`\mathcal A_1, \mathcal A_2, \mathcal A_3` of different depths (the paper's
Fig. 9c: a UNet without skip connections, built from the same double-Blaze blocks) act as surrogate
image generators. Each step:

1. a batch of real images :math:`y` is split into three sub-batches, one per autoencoder, and the
   outputs are concatenated into :math:`\hat y`;
2. the true gradient :math:`\nabla_{\hat y}\mathrm{VGG}(\hat y, y)` and the PGN's synthetic gradient
   are computed;
3. every autoencoder takes an Adam step along the **synthetic** gradient only (it never sees the
   true one);
4. the PGN takes an Adam step on the meta-loss (Eq. 10).

An autoencoder is reset (fresh weights and optimiser) when its true perceptual loss has not
improved for ``patience`` steps, or explodes past twice its first value: the PGN keeps seeing
images from every stage of training, from noise-like to nearly converged.

What short CPU runs showed (300-step sketches, judged by a short Deep Image Prior run driven by the
trained PGN): dropping the meta-loss's VGG and L1 terms raises the training cosine but makes the
PGN a worse optimiser, as the paper says those terms keep colours; the hybrid parametrisation
(Eq. 8) with the paper's gamma learns far slower; wider autoencoders, width 64 or lr 1e-3 change
little. A better PGN mostly needs far more steps (scale='paper').

:func:`train` is a pure function of a :class:`PGNTrainConfig`; ``repro train-pgn`` runs it and
writes the checkpoint (float16 weights), its config and sha256 into ``data/pgn/`` (see
:mod:`repro.pgn.checkpoints`).
"""
from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import torch
import torch.nn as nn
from tqdm import tqdm

from repro.config import ExperimentConfig, Scale
from repro.data.folders import ImageFolder, dataset_path
from repro.data.photos import random_crops
from repro.pgn import checkpoints
from repro.runtime import device, progress as bar
from repro.pgn.pgn import MODES, PGN, PGNConfig, cosine_similarity, meta_step, normalize, vgg_loss
from repro.zoo.pgn_backbones import BACKBONES, DoubleBlaze, backbone

AE_DEPTHS = (1, 2, 3)


class Autoencoder(nn.Module):
    """Stem conv, ``depth`` strided double-Blaze blocks, then ``depth`` x2 upsamplings + conv
    (no skip connections); sigmoid then ImageNet normalisation, so the output is an image."""

    def __init__(self, depth: int, width: int = 32) -> None:
        super().__init__()
        chans = [width * min(2**i, 4) for i in range(depth + 1)]
        self.stem = nn.Sequential(nn.Conv2d(3, chans[0], 3, 1, 1), nn.ReLU())
        self.down = nn.Sequential(*[DoubleBlaze(chans[i], chans[i + 1], chans[i], stride=2) for i in range(depth)])
        up = []
        for i in reversed(range(depth)):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(chans[i + 1], chans[i], 3, 1, 1), nn.ReLU()]
        self.up = nn.Sequential(*up)
        self.out = nn.Conv2d(chans[0], 3, 3, 1, 1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return normalize(torch.sigmoid(self.out(self.up(self.down(self.stem(y))))))


@dataclasses.dataclass(frozen=True)
class PGNTrainConfig(ExperimentConfig):
    backbone: str = "resnet4"
    mode: str = "constrained"
    width: int = 32  # ResNet channel width (paper: 64); the UNet's widths scale with it
    image_size: int = 32
    batch_size: int = 12  # split over the three autoencoders
    steps: int = 800
    lr: float = 3e-4
    ae_lr: float = 1e-3
    ae_width: int = 16
    patience: int = 100
    n_crops: int = 4096
    log_every: int = 10

    VERSION = 1

    NAME = "pgn.training"
    PRESETS: ClassVar[dict] = {
                        Scale.SMOKE: dict(steps=4, batch_size=6, n_crops=24, patience=2, log_every=1, width=8, ae_width=8),
                        Scale.CPU: dict(),
                        Scale.PAPER: dict(width=64, image_size=256, batch_size=24, steps=300_000, lr=1e-4, ae_width=32,
                                          patience=2_000, n_crops=0, log_every=100),
    }
    AT_LEAST_ONE = ("steps", "width", "patience", "log_every")

    def validate(self) -> None:
        super().validate()
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown PGN backbone {self.backbone!r}; valid: {', '.join(BACKBONES)}")
        if self.mode not in MODES:
            raise ValueError(f"unknown PGN mode {self.mode!r}; valid: {', '.join(MODES)}")
        if self.batch_size < len(AE_DEPTHS) or self.batch_size % len(AE_DEPTHS):
            raise ValueError(f"batch_size must be a positive multiple of {len(AE_DEPTHS)} (one sub-batch per autoencoder)")
        multiple = 32 if self.backbone == "unet" else 8
        if self.image_size % multiple:
            raise ValueError(f"image_size must be a multiple of {multiple} for backbone {self.backbone!r}")
        if self.n_crops < 0 or (self.n_crops == 0 and self.scale is not Scale.PAPER):
            raise ValueError(f"n_crops must be >= 1 (0 = every image of data_root, scale='paper' only), got {self.n_crops}")

    @property
    def name(self) -> str:
        return f"pgn_{self.backbone}"


#: The config of a scale (:meth:`ExperimentConfig.create`).
config = PGNTrainConfig.create


def training_images(cfg: PGNTrainConfig):
    """Photo-bank *train* crops in [0, 1] (sides from the image size to 4x it, so the PGN sees several
    zooms); at scale='paper' the ImageNet training images under ``<data_root>/imagenet_train``, read
    lazily (an indexable :class:`repro.data.folders.ImageFolder`: item ``i`` is one image)."""
    if cfg.scale is Scale.PAPER:
        return ImageFolder(dataset_path(cfg.data_root, "imagenet_train"), cfg.image_size, limit=cfg.n_crops or None)
    return random_crops(cfg.n_crops, cfg.image_size, split="train", seed=cfg.seed, max_side=4 * cfg.image_size)


def _fresh_autoencoders(cfg: PGNTrainConfig, generator: torch.Generator) -> list:
    out = []
    for depth in AE_DEPTHS:
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        ae = Autoencoder(depth, cfg.ae_width).to(device())
        out.append([ae, torch.optim.Adam(ae.parameters(), cfg.ae_lr)])
    return out


def train(cfg: PGNTrainConfig, perceptual=None, images=None, progress: bool = True) -> dict:
    """Train one PGN; returns ``{"pgn": PGN (eval mode), "log": {...}, "seconds": float}``.

    The log holds, every ``log_every`` steps, the meta-loss parts, the cosine similarity between the
    synthetic and true gradients of the batch (mean over images; PGN Table 4 "Train"), and each
    autoencoder's true perceptual loss; plus the steps at which autoencoders were reset.
    """
    torch.manual_seed(cfg.seed)
    dev = device()
    perceptual = (perceptual or vgg_loss()).to(dev)
    images = training_images(cfg) if images is None else images
    gen = torch.Generator().manual_seed(cfg.seed)
    pgn = PGN(backbone(cfg.backbone, cfg.width), PGNConfig(mode=cfg.mode)).to(dev).train()
    opt = torch.optim.Adam(pgn.parameters(), cfg.lr)
    zoo = _fresh_autoencoders(cfg, gen)
    sub = cfg.batch_size // len(AE_DEPTHS)
    first = [None] * len(zoo)
    best = [float("inf")] * len(zoo)
    since = [0] * len(zoo)
    log = {"step": [], "cosine": [], "grad": [], "vgg": [], "l1": [], "ae_loss": [], "resets": []}
    start = time.perf_counter()
    for step in tqdm(range(cfg.steps), desc=f"train {cfg.name} ({cfg.mode})", **bar(progress)):
        idx = torch.randint(len(images), (cfg.batch_size,), generator=gen)
        y = torch.stack([images[int(i)] for i in idx]).to(dev)  # a tensor or a lazy image folder
        flip = (torch.rand(cfg.batch_size, generator=gen) < 0.5).to(dev)
        y = normalize(torch.where(flip.view(-1, 1, 1, 1), y.flip(-1), y))
        y_hat = torch.cat([ae(y[i * sub:(i + 1) * sub]) for i, (ae, _) in enumerate(zoo)])
        values, true_grad = perceptual.value_and_gradient(y_hat.detach(), y)
        loss, parts, synthetic = meta_step(pgn, perceptual, y_hat.detach(), y, true_grad)
        for _, ae_opt in zoo:
            ae_opt.zero_grad()
        y_hat.backward(synthetic)  # the autoencoders only ever see the synthetic gradient
        for _, ae_opt in zoo:
            ae_opt.step()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ae_losses = [float(values[i * sub:(i + 1) * sub].mean()) for i in range(len(zoo))]
        for i, value in enumerate(ae_losses):
            first[i] = value if first[i] is None else first[i]
            if value < best[i]:
                best[i], since[i] = value, 0
            else:
                since[i] += 1
            if since[i] >= cfg.patience or value > 2 * first[i] or value != value:
                zoo[i] = _fresh_autoencoders(cfg, gen)[i]
                first[i], best[i], since[i] = None, float("inf"), 0
                log["resets"].append([step, i])
        if step % cfg.log_every == 0 or step == cfg.steps - 1:
            log["step"].append(step)
            log["cosine"].append(float(cosine_similarity(synthetic, true_grad).mean()))
            for key in ("grad", "vgg", "l1"):
                log[key].append(parts.get(key, float("nan")))
            log["ae_loss"].append(ae_losses)
    return {"pgn": pgn.eval(), "log": log, "seconds": time.perf_counter() - start}


#: The PGNs the book uses: constrained proxies on every backbone (Tables 1-4), plus the direct and
#: unconstrained-proxy variants of Table 5 (on ResNet-4 here; the paper used ResNet-8).
BOOK_SET = (("resnet4", "constrained"), ("resnet6", "constrained"), ("resnet8", "constrained"),
            ("unet", "constrained"), ("resnet4", "direct"), ("resnet4", "proxy"))


def train_and_save(scale: str = "cpu", backbones: "tuple | None" = None, modes: "tuple | None" = None, seed: int = 0,
                   data_root: "str | None" = None, dry_run: bool = False, **overrides) -> list:
    """``repro train-pgn``: train the book's PGNs (or the chosen ones) and write their checkpoints.

    Every config is built (and so validated) before the first one trains; ``dry_run=True`` prints
    what would be trained and trains nothing."""
    jobs = [(b, m) for b, m in BOOK_SET if (backbones is None or b in backbones) and (modes is None or m in modes)]
    if backbones and modes:
        jobs = [(b, m) for b in backbones for m in modes]
    if not jobs:
        raise ValueError("nothing to train: pick --backbone/--mode from " + ", ".join(f"{b}/{m}" for b, m in BOOK_SET))
    configs = [config(scale, seed=seed, data_root=data_root, backbone=name, mode=mode, **overrides) for name, mode in jobs]
    if dry_run:
        for cfg in configs:
            print(f"would train {cfg.name} ({cfg.mode}) at scale={cfg.scale}: {cfg.steps} steps -> {checkpoints.folder(cfg.scale.value)}")
        return []
    perceptual = vgg_loss()
    paths = []
    for cfg in configs:
        mode = cfg.mode
        result = train(cfg, perceptual)
        paths.append(checkpoints.save(result, cfg))
        print(f"{cfg.name} ({mode}): {result['seconds']:.0f} s, final cosine {result['log']['cosine'][-1]:.3f} -> {paths[-1]}")
    return paths
