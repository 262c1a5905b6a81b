r"""AWA's experiments: one inpainting training run as a function of a frozen config.

Every table and figure of the AWA part is assembled from runs of :func:`run` (stored and reused:
two tables that need the same run — e.g. Table I's CTSDG baseline and Table II's experiment 1 —
share one stored result) and of :func:`classical` (OpenCV's Telea and Navier-Stokes inpainting).

One run: a generator (``ctsdg`` | ``edgeconnect`` | ``prvs``, :mod:`repro.zoo.inpainting`) and the
PatchGAN are trained on the main loss (Eq. 1, CTSDG's official weights,
:data:`repro.awa.losses.BALANCES`) plus TPL/TSL weighted by a reweighting ``method`` (``fixed`` |
``awa`` | ``adaloss`` | ``gradnorm`` | ``gradsim``), with CTSDG's optimisers: Adam with betas
(0.9, 0.999) for the generator, the discriminator at a tenth of its learning rate. The last
``finetune_steps`` steps are CTSDG's fine-tuning stage: a quarter of the learning rate (2e-4 then
5e-5 in CTSDG) and the generator's BatchNorm statistics frozen
(:meth:`~repro.zoo.inpainting.InpaintingGenerator.freeze_statistics`; only ``ctsdg_small`` has
BatchNorm, as only CTSDG among the three has it in its encoder). The weights are logged every step
(AWA's Fig. 4). The test set is scored per hole-ratio bin with PSNR, SSIM, MAE, LPIPS-VGG and FID
on the composite.

**Warm start.** With ``warm_steps > 0`` a run continues from :func:`warm_start`: the same generator
trained ``warm_steps`` steps with fixed default weights (seed ``warm_seed``), stored once and shared
by every arm and seed that continues from it, so that the arms differ only in what they do after it.
The continuation starts fresh Adam moments (the same for every arm); its ``seed`` fixes the batch
stream and the training masks, identical for every method.

Data (scale ``smoke``/``cpu``; no faces, facades or Places2 offline): two photo-bank analogues,
``scenes`` (random crops of 192 px up to a whole photo: whole scenes, for Places2 and Paris
StreetView) and ``closeups`` (small crops of 1-2x the output size: object and texture detail, for
CelebA); train crops from the 22 train photos, test crops from the 8 test photos. Masks: the
book's irregular brush-stroke masks in the paper's bins. At ``paper`` scale (256x256) the images
are read from ``<data_root>/{places2,paris_streetview,celeba}/{train,test}`` and the test masks are
NVIDIA's irregular masks from ``<data_root>/masks``, binned by hole ratio (the first ``n_test`` of
each scored bin); the training masks are drawn brush strokes at every scale (the layout:
:mod:`repro.data.folders`).
"""
from __future__ import annotations

import base64
import dataclasses
import time
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from repro import metrics
from repro.awa import AWA, AWAConfig, AdaLoss, Fixed, GradNorm, GradSim
from repro.awa.losses import BALANCES, DEFAULT_WEIGHTS, TERM_NAMES, UPPER_BOUNDS, VGG_INPUTS, AuxiliaryTerms, composite
from repro.awa.objective import InpaintingObjective, guidance_metric
from repro.config import ExperimentConfig, Scale, parse_scale
from repro.data.folders import ImageFolder, dataset_path
from repro.data.masks import HOLE_RATIO_BINS, bin_label, binned_mask_folder, irregular_mask
from repro.data.photos import random_crops
from repro.numerics import cache_per_dtype, floating
from repro.runtime import device
from repro.store import experiment
from repro.zoo import create_model, pretrained_model
from repro.zoo.inpainting import GENERATORS

METHODS = ("fixed", "awa", "adaloss", "gradnorm", "gradsim")
DATASETS = {  # name -> (what it is, folder under data_root at scale='paper')
    "scenes": ("photo-bank crops of 192 px up to a whole photo (stands for Places2 / Paris StreetView)", None),
    "closeups": ("photo-bank crops of 1-2x the output size (stands for CelebA)", None),
    "places2": ("Places2", "places2"),
    "paris_streetview": ("Paris StreetView", "paris_streetview"),
    "celeba": ("CelebA", "celeba"),
}
#: The photo-bank dataset standing in for each of the paper's datasets below scale='paper'.
ANALOGUES = {"places2": "scenes", "paris_streetview": "scenes", "celeba": "closeups"}


def dataset_for(paper_dataset: str, scale: "str | Scale") -> str:
    """The paper's dataset itself at scale='paper', its photo-bank analogue below."""
    return paper_dataset if parse_scale(scale) is Scale.PAPER else ANALOGUES[paper_dataset]
#: Bins scored (the paper's Tables III-V: (0.1, 0.2] ... (0.5, 0.6]).
EVAL_BINS = (1, 2, 3, 4, 5)
METRICS = ("PSNR", "SSIM", "MAE", "LPIPS", "FID")
TEST_SEED = 7_000
#: ``scenes`` crops have sides from this many pixels to a photo's whole short side (mostly 300-768).
SCENE_MIN_SIDE = 192  # the test crops and masks do not depend on the run's seed


@dataclasses.dataclass(frozen=True)
class InpaintConfig(ExperimentConfig):
    dataset: str = "scenes"  # at scale='paper': places2 | paris_streetview | celeba
    generator: str = "ctsdg"
    method: str = "fixed"
    k: int = 1
    guidance: str = "lpips"
    awa_params: str = "all"
    aux_optimiser: str = "code"
    aux_lr: float = 1e-3
    tied: bool = False
    weight_p: float = 0.1
    weight_s: float = 250.0
    image_size: int = 32
    width: int = 16
    batch_size: int = 6
    steps: int = 80
    finetune_steps: int = 20
    lr: float = 1e-3
    n_train: int = 384
    n_test: int = 8
    n_fid: int = 8  # FID per bin on the first n_fid test images (shown, never deciding: repro.claims.FID_MIN_IMAGES)
    n_samples: int = 4
    balance: str = "ctsdg"  # main-loss weights: repro.awa.losses.BALANCES ("liu": the book's earlier 1/6)
    vgg_input: str = "official"  # [-1, 1] as is (the official code), or "imagenet"
    warm_steps: int = 0  # continue from warm_start(warm_config(cfg)) when > 0
    warm_seed: int = 0

    # 2: guidance batches from their own stream (identical training batches across methods);
    # 3: CTSDG's official balance, VGG input and optimisers, BatchNorm in ctsdg_small's encoders, warm starts
    VERSION = 3

    NAME = "awa.inpainting"
    PRESETS: ClassVar[dict] = {
        Scale.SMOKE: dict(aux_lr=2e-2, image_size=16, width=8, batch_size=4, steps=6, finetune_steps=2, n_train=32, n_test=2, n_samples=2),
        # cpu: 48 steps (12 of fine-tuning), not 80 (20): the AWA part's 12 minutes of the 40-minute book
        # budget on 2 cores (README, "Book budget"); the AWA redesign replaces these runs.
        Scale.CPU: dict(aux_lr=2e-2, steps=48, finetune_steps=12),
        Scale.PAPER: dict(image_size=256, width=64, batch_size=6, steps=400_000, finetune_steps=50_000, lr=2e-4,
                          n_train=0, n_test=200, n_fid=0, n_samples=8),
    }
    AT_LEAST_ONE = ("steps", "batch_size", "n_test", "width", "k")

    def validate(self) -> None:
        super().validate()
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; valid: {', '.join(DATASETS)}")
        real = DATASETS[self.dataset][1] is not None
        if real != (self.scale is Scale.PAPER):
            valid = [d for d, (_, folder) in DATASETS.items() if (folder is not None) == (self.scale is Scale.PAPER)]
            raise ValueError(f"dataset {self.dataset!r} is not available at scale={self.scale.value!r}; valid: {', '.join(valid)}")
        if self.generator not in GENERATORS:
            raise ValueError(f"unknown generator {self.generator!r}; valid: {', '.join(GENERATORS)}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; valid: {', '.join(METHODS)}")
        if self.image_size % 4 or self.image_size < 16:
            raise ValueError(f"image_size must be a multiple of 4 and >= 16, got {self.image_size}")
        if not 0 <= self.finetune_steps < self.steps:
            raise ValueError(f"finetune_steps must be in [0, steps), got {self.finetune_steps}")
        if self.n_test < 2:
            raise ValueError("n_test must be >= 2 (FID needs two images)")
        if self.n_fid == 1 or self.n_fid < 0:
            raise ValueError(f"n_fid must be 0 (every test image) or >= 2, got {self.n_fid}")
        self.awa  # noqa: B018  (AWAConfig checks its own settings)
        if not (0 < self.weight_p < UPPER_BOUNDS[0] and 0 < self.weight_s < UPPER_BOUNDS[3]):
            raise ValueError(f"weights must lie in (0, {UPPER_BOUNDS[0]}) and (0, {UPPER_BOUNDS[3]})")
        if self.balance not in BALANCES:
            raise ValueError(f"unknown balance {self.balance!r}; valid: {', '.join(BALANCES)}")
        if self.vgg_input not in VGG_INPUTS:
            raise ValueError(f"unknown vgg_input {self.vgg_input!r}; valid: {', '.join(VGG_INPUTS)}")
        if self.warm_steps < 0:
            raise ValueError(f"warm_steps must be >= 0, got {self.warm_steps}")

    @property
    def awa(self) -> AWAConfig:
        """AWA's own settings (:class:`repro.awa.AWAConfig`), read from this config's fields."""
        return AWAConfig(k=self.k, guidance=self.guidance, params=self.awa_params, aux_optimiser=self.aux_optimiser, tied=self.tied)


def config(scale: str = "cpu", seed: int = 0, data_root: "str | None" = None, **overrides) -> InpaintConfig:
    """The config of ``scale``; the dataset defaults to Places2 (``scenes`` below scale='paper')."""
    overrides.setdefault("dataset", dataset_for("places2", scale))
    return InpaintConfig.create(scale, seed=seed, data_root=data_root, **overrides)


# ---- data ------------------------------------------------------------------------------------------
def images(cfg: InpaintConfig, split: str) -> torch.Tensor:
    """Train or test images in [-1, 1]: photo-bank crops, or the real folder at scale='paper'."""
    n = cfg.n_train if split == "train" else cfg.n_test
    if cfg.scale is Scale.PAPER:
        folder = dataset_path(cfg.data_root, DATASETS[cfg.dataset][1], split)
        return ImageFolder(folder, cfg.image_size, limit=n or None).load_all() * 2 - 1
    # the training crops of a continuation are its warm start's: its seed fixes only batches and masks
    seed = (cfg.warm_seed if cfg.warm_steps else cfg.seed) * 7919 if split == "train" else TEST_SEED
    return _crops(cfg.dataset, n, cfg.image_size, "train" if split == "train" else "test", seed) * 2 - 1


@cache_per_dtype(maxsize=8)
def _crops(dataset: str, n: int, size: int, split: str, seed: int) -> torch.Tensor:
    if dataset == "closeups":
        return random_crops(n, size, split=split, seed=seed, min_side=size, max_side=2 * size)
    return random_crops(n, size, split=split, seed=seed, min_side=SCENE_MIN_SIDE)


@cache_per_dtype(maxsize=8)
def _masks(size: int, bins: tuple, n: int, seed: int) -> torch.Tensor:
    return torch.stack([floating(torch.from_numpy(_mask(size, bins[i % len(bins)], seed + i)))[None] for i in range(n)])


def _mask(size: int, bin_index: int, seed: int) -> np.ndarray:
    """An irregular mask of the bin; at small sizes a draw can miss the bin: redraw with the next seeds."""
    for attempt in range(20):
        try:
            return irregular_mask(size, bin_index, seed=seed + 1_000_003 * attempt)
        except RuntimeError:
            continue
    raise RuntimeError(f"could not draw a {size}px mask in bin {bin_label(HOLE_RATIO_BINS[bin_index])} in 20 tries")


def train_masks(cfg: InpaintConfig) -> torch.Tensor:
    """A pool of training masks over the bins (0.01, 0.1] ... (0.5, 0.6]."""
    return _masks(cfg.image_size, tuple(range(len(HOLE_RATIO_BINS))), max(64, 4 * cfg.batch_size), cfg.seed * 104_729)


def test_masks(cfg: InpaintConfig) -> dict[str, torch.Tensor]:
    """``n_test`` masks per scored bin (the same for every run of a scale): drawn brush strokes, or at
    scale='paper' NVIDIA's irregular test masks under ``<data_root>/masks`` binned by hole ratio."""
    if cfg.scale is Scale.PAPER:
        return _folder_masks(str(dataset_path(cfg.data_root, "masks")), cfg.image_size, cfg.n_test)
    return {bin_label(HOLE_RATIO_BINS[b]): _masks(cfg.image_size, (b,), cfg.n_test, TEST_SEED + 1000 * b) for b in EVAL_BINS}


@cache_per_dtype(maxsize=4)
def _folder_masks(folder: str, size: int, n: int) -> dict[str, torch.Tensor]:
    return binned_mask_folder(folder, size, n, EVAL_BINS)


def sample_masks(cfg: InpaintConfig) -> torch.Tensor:
    """The masks of the qualitative grids: the first ``n_samples`` test masks of bin (0.3, 0.4] (drawn
    alone: mask ``i`` of a bin depends only on its seed, so a page showing samples does not draw the
    whole test set, 16 s at scale='cpu')."""
    if cfg.scale is Scale.PAPER:
        return test_masks(cfg)[bin_label(HOLE_RATIO_BINS[3])][: cfg.n_samples]
    return _masks(cfg.image_size, (3,), min(cfg.n_samples, cfg.n_test), TEST_SEED + 1000 * 3)


# ---- one run --------------------------------------------------------------------------------------
def make_method(cfg: InpaintConfig):
    """The reweighting method of ``cfg``: every method has ``weights()`` and ``update(...)``."""
    init = (cfg.weight_p,) * 3 + (cfg.weight_s,) * 3
    if cfg.method == "awa":
        lpips_model = pretrained_model("lpips_vgg").to(device()) if cfg.guidance == "lpips" else None
        return AWA(cfg.awa, guidance_metric(cfg.guidance, lpips_model), lr=cfg.lr, init=init, aux_lr=cfg.aux_lr)
    return {"fixed": Fixed, "adaloss": AdaLoss, "gradnorm": GradNorm, "gradsim": GradSim}[cfg.method](init=init)


def predict(generator, images: torch.Tensor, masks: torch.Tensor, batch: int = 32) -> torch.Tensor:
    """Composites in [-1, 1]."""
    generator.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            y, m = images[i : i + batch], masks[i : i + batch]
            out.append(composite(generator(y * (1 - m), m).image, y, m))
    generator.train()
    return torch.cat(out)


def score(fake: torch.Tensor, real: torch.Tensor, n_fid: int = 0) -> dict:
    """PSNR, SSIM, MAE, LPIPS (means over images) and FID of composites vs targets, all in [-1, 1];
    FID on the first ``n_fid`` pairs (0: all). The targets' Inception features are computed once per
    process (:data:`repro.metrics.REFERENCE_FEATURES`): every bin of every run scores its FID against
    the same ground-truth images."""
    if not torch.isfinite(fake).all():
        return {m: float("nan") for m in METRICS}
    f, r = (fake + 1) / 2, (real + 1) / 2
    k = n_fid or len(f)
    return {
        "PSNR": float(metrics.psnr(f, r).mean()), "SSIM": float(metrics.ssim(f, r).mean()),
        "MAE": float(metrics.mae(f, r).mean()), "LPIPS": float(metrics.lpips(f, r).mean()),
        "FID": metrics.REFERENCE_FEATURES.fid(f[:k], r[:k]),
    }


def evaluate(cfg: InpaintConfig, fill) -> dict[str, dict]:
    """``fill(images, masks) -> composites`` scored on every bin of the test set (FID on the first
    ``cfg.n_fid`` images of each bin: 9 s per 64 images on one core, and not deciding anything)."""
    real = images(cfg, "test").to(device())
    return {label: score(fill(real, m.to(device())), real, cfg.n_fid)
            for label, m in test_masks(cfg).items()}


def warm_config(cfg: InpaintConfig) -> InpaintConfig:
    """The config of ``cfg``'s warm start: what the warm start depends on (data, generator, widths,
    learning rate, balance, ``warm_steps`` fixed-weight steps at seed ``warm_seed``), every other
    field at its default, so that every arm and seed continuing from it shares one stored run."""
    if cfg.warm_steps < 1:
        raise ValueError("this run has no warm start (warm_steps=0)")
    keep = ("dataset", "generator", "image_size", "width", "batch_size", "lr", "n_train", "balance", "vgg_input", "data_root")
    return InpaintConfig(scale=cfg.scale, seed=cfg.warm_seed, steps=cfg.warm_steps, finetune_steps=0, n_test=2, n_samples=1,
                         **{f: getattr(cfg, f) for f in keep})


def _pack(state: dict) -> dict:
    """A state dict as JSON-safe base64 of its raw bytes (float tensors in their own type)."""
    return {k: {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                "data": base64.b64encode(t.detach().cpu().contiguous().numpy().tobytes()).decode()} for k, t in state.items()}


def _unpack(packed: dict) -> dict:
    return {k: torch.from_numpy(np.frombuffer(base64.b64decode(v["data"]), dtype=v["dtype"]).copy()).reshape(v["shape"])
            for k, v in packed.items()}


def _networks(cfg: InpaintConfig):
    dev = device()
    generator = create_model(GENERATORS[cfg.generator], width=cfg.width).to(dev)
    discriminator = create_model("inpainting_patchgan", width=2 * cfg.width).to(dev)
    return generator, discriminator


def _objective(cfg: InpaintConfig, generator, discriminator) -> InpaintingObjective:
    """The training objective of ``cfg``: its main-loss balance, TPL/TSL on VGG-16 fed as ``cfg.vgg_input`` says."""
    vgg = pretrained_model("vgg16_features", normalize=False)
    return InpaintingObjective(generator, discriminator, AuxiliaryTerms(vgg.to(device()), cfg.vgg_input),
                               main_weights=BALANCES[cfg.balance], params=cfg.awa_params)


def _train(cfg: InpaintConfig, generator, discriminator, method, steps: int, finetune_steps: int) -> dict:
    """``steps`` generator and discriminator steps (the last ``finetune_steps`` fine-tuning), batches
    and masks drawn from ``cfg.seed``; returns the weight and loss histories and the seconds per step."""
    dev = device()
    objective = _objective(cfg, generator, discriminator)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(0.9, 0.999))  # CTSDG's optimisers
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr / 10, betas=(0.9, 0.999))
    train, pool = images(cfg, "train").to(dev), train_masks(cfg).to(dev)
    rng = torch.Generator().manual_seed(cfg.seed)
    guide_rng = torch.Generator().manual_seed(cfg.seed + 1_000_003)  # every method sees the same training batches

    def sample(rng: torch.Generator = rng) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.randint(len(train), (cfg.batch_size,), generator=rng)
        j = torch.randint(len(pool), (cfg.batch_size,), generator=rng)
        flip = torch.rand(cfg.batch_size, generator=rng) < 0.5
        m = pool[j]
        return train[i], torch.where(flip.view(-1, 1, 1, 1).to(dev), m.flip(-1), m)

    history, losses = [], []
    start = time.perf_counter()
    for step in tqdm(range(steps), desc=f"{cfg.generator}+{cfg.method}", leave=False):
        if step == steps - finetune_steps:  # CTSDG's fine-tuning stage: lr / 4, frozen BatchNorm statistics
            for opt, lr in ((opt_g, cfg.lr / 4), (opt_d, cfg.lr / 40)):
                for group in opt.param_groups:
                    group["lr"] = lr
            generator.freeze_statistics()
            method.generator_lr_changed(cfg.lr / 4)
        batch = sample()
        guide = sample(guide_rng) if method.needs_guidance else None
        main, aux, fake = objective.losses(batch)
        method.update(objective, batch, guide, main, aux)
        w = method.weights()
        opt_g.zero_grad(set_to_none=True)
        (main + (w * aux).sum()).backward()
        opt_g.step()
        d_loss = F.softplus(-discriminator(batch[0])).mean() + F.softplus(discriminator(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        history.append([float(x) for x in w])
        losses.append({"main": float(main.detach()), **dict(zip(TERM_NAMES, aux.detach().tolist()))})
    return {"weights": history, "losses": losses, "seconds_per_step": (time.perf_counter() - start) / max(steps, 1)}


@experiment("awa/warm_start")
def warm_start(cfg: InpaintConfig) -> dict:
    """``cfg.steps`` steps of the generator with fixed default weights (:func:`warm_config`): its and
    its discriminator's weights (BatchNorm statistics included) and its loss history. The runs that
    continue from it score themselves."""
    if cfg.method != "fixed" or cfg.finetune_steps or cfg.warm_steps or (cfg.weight_p, cfg.weight_s) != (DEFAULT_WEIGHTS[0], DEFAULT_WEIGHTS[3]):
        raise ValueError("a warm start is fixed-weight training at the default weights: build its config with warm_config()")
    generator, discriminator = warm_networks(cfg)  # warm_steps is 0: freshly initialised from cfg.seed
    trained = _train(cfg, generator, discriminator, make_method(cfg).to(device()), cfg.steps, 0)
    return {"generator": _pack(generator.state_dict()), "discriminator": _pack(discriminator.state_dict()),
            "losses": trained["losses"], "seconds_per_step": trained["seconds_per_step"]}


def warm_networks(cfg: InpaintConfig):
    """``cfg``'s generator and discriminator, at the stored warm start when ``cfg.warm_steps > 0``,
    else freshly initialised from ``cfg.seed``."""
    torch.manual_seed(cfg.seed)
    generator, discriminator = _networks(cfg)
    if cfg.warm_steps:
        state = warm_start(warm_config(cfg))
        dev = device()
        generator.load_state_dict({k: v.to(dev) for k, v in _unpack(state["generator"]).items()})
        discriminator.load_state_dict({k: v.to(dev) for k, v in _unpack(state["discriminator"]).items()})
    return generator, discriminator


@experiment("awa/run")
def run(cfg: InpaintConfig) -> dict:
    """Train one generator with one reweighting method (from its warm start, if it has one); test
    metrics per bin, weight history, samples."""
    dev = device()
    generator, discriminator = warm_networks(cfg)
    method = make_method(cfg).to(dev)
    trained = _train(cfg, generator, discriminator, method, cfg.steps, cfg.finetune_steps)
    fill = lambda y, m: predict(generator, y, m)  # noqa: E731
    scores = evaluate(cfg, fill)
    real = images(cfg, "test")[: cfg.n_samples].to(dev)
    m = sample_masks(cfg).to(dev)
    return {"scores": scores, **trained, "samples": to_uint8(fill(real, m)), "skipped_updates": method.skipped,
            "finetune_start": cfg.steps - cfg.finetune_steps}


# ---- Fig. 4's probe: is AWA's signal common-mode at the warm start? ----------------------------------
@dataclasses.dataclass(frozen=True)
class ProbeConfig(ExperimentConfig):
    """AWA's inner products :math:`d_j` (Eq. 8) at a warm start over ``pairs`` (training, guidance)
    batch pairs; ``warm_steps`` and ``aux_lr`` name the warm start and the AWA run it stands for
    (every other field of that run at its scale's preset)."""

    pairs: int = 12
    warm_steps: int = 4000
    aux_lr: float = 4e-2

    NAME = "awa.probe"
    PRESETS: ClassVar[dict] = {Scale.SMOKE: dict(pairs=3, warm_steps=6), Scale.CPU: {},
                               Scale.PAPER: dict(pairs=100, warm_steps=350_000, aux_lr=1e-3)}
    AT_LEAST_ONE = ("pairs", "warm_steps")

    def run_config(self) -> InpaintConfig:
        return config(self.scale, data_root=self.data_root, method="awa", warm_steps=self.warm_steps, aux_lr=self.aux_lr)


@experiment("awa/probe")
def probe(cfg: ProbeConfig) -> dict:
    r"""The six :math:`d_j = \langle \nabla\mathcal L_c(\theta'), \nabla L_j(\theta)\rangle` of an AWA step at
    the warm start, for ``cfg.pairs`` batch pairs drawn from ``cfg.seed`` (the weights are not
    stepped: every pair sees the same warm start). The AWA update moves logit :math:`j` along
    :math:`\omega_j'(\phi_j)\, d_j`; when all six :math:`d_j` share a sign, the six weights move
    together (a common mode), and differences between the levels are not what drives them."""
    run_cfg = cfg.run_config()
    dev = device()
    generator, discriminator = warm_networks(run_cfg)
    objective = _objective(run_cfg, generator, discriminator)
    method = make_method(run_cfg).to(dev)
    train, pool = images(run_cfg, "train").to(dev), train_masks(run_cfg).to(dev)
    rng = torch.Generator().manual_seed(cfg.seed + 31_337)

    def sample() -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.randint(len(train), (run_cfg.batch_size,), generator=rng)
        j = torch.randint(len(pool), (run_cfg.batch_size,), generator=rng)
        return train[i], pool[j]

    rows = []
    for _ in range(cfg.pairs):
        batch, guide = sample(), sample()
        main, aux, _ = objective.losses(batch)
        d = method.surrogate_inner_products(objective, batch, guide, main, aux)
        rows.append([float("nan")] * len(TERM_NAMES) if d is None else [float(x) for x in d])
    return {"inner_products": rows, "terms": list(TERM_NAMES)}


def to_uint8(images_: torch.Tensor) -> list:
    """(N, 3, H, W) in [-1, 1] -> nested lists of (H, W, 3) uint8."""
    return ((images_.nan_to_num(0.0).clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy().tolist()


# ---- classical inpainting (OpenCV) ----------------------------------------------------------------
CLASSICAL = {"Telea": "INPAINT_TELEA", "Navier-Stokes": "INPAINT_NS"}


def opencv_fill(name: str, radius: int = 3):
    """OpenCV's Telea (fast marching) or Navier-Stokes inpainting as ``fill(images, masks)``."""
    import cv2

    flag = getattr(cv2, CLASSICAL[name])

    def fill(y: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        out = []
        for img, hole in zip(((y + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy(),
                             (m[:, 0] > 0.5).byte().cpu().numpy()):
            out.append(cv2.inpaint(np.ascontiguousarray(img), hole, radius, flag))
        filled = floating(torch.from_numpy(np.stack(out))).permute(0, 3, 1, 2).to(y.device) / 127.5 - 1
        return composite(filled, y, m)

    return fill


@experiment("awa/classical")
def classical(cfg: InpaintConfig) -> dict:
    """Telea and Navier-Stokes on ``cfg``'s test set (no training; ``cfg.method`` etc. are unused)."""
    out = {}
    for name in CLASSICAL:
        fill = opencv_fill(name)
        real = images(cfg, "test")[: cfg.n_samples].to(device())
        out[name] = {"scores": evaluate(cfg, fill), "samples": to_uint8(fill(real, sample_masks(cfg).to(device())))}
    return out
