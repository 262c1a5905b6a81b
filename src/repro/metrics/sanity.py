r"""Chapter 1 ("Networks, metrics and data"): sanity values of the pretrained metrics.

The experiment perturbs real photos with Gaussian noise of growing strength and measures
PSNR, SSIM, LPIPS (VGG and AlexNet) and FID between the clean and the noisy set. The genuine
networks must give LPIPS(x, x) = 0 and FID(A, A) ≈ 0, both growing with the noise, and a
non-zero FID between two disjoint sets of real photos.

Photos: photo-bank crops below ``scale="paper"``; at ``paper`` the first ``n_images`` of
``<data_root>/imagenet_val`` (centre squares).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch
from tqdm import tqdm

from repro import metrics
from repro.config import ExperimentConfig, Scale
from repro.data import ImageFolder, dataset_path, random_crops
from repro.runtime import device
from repro.store import experiment


@dataclasses.dataclass(frozen=True)
class MetricSanityConfig(ExperimentConfig):
    """Noise-sweep sanity check of the metrics. ``n_images`` crops of ``image_size`` pixels."""

    image_size: int = 128
    n_images: int = 64
    noise_levels: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2)

    NAME = "foundation.metric_sanity"
    PRESETS: ClassVar[dict] = {
        Scale.SMOKE: dict(image_size=64, n_images=8, noise_levels=(0.0, 0.05, 0.2)),
        Scale.CPU: dict(image_size=128, n_images=48),
        Scale.PAPER: dict(image_size=256, n_images=1000),
    }

    def validate(self) -> None:
        super().validate()
        if self.image_size < 32:
            raise ValueError(f"image_size must be >= 32, got {self.image_size}")
        if self.n_images < 4:
            raise ValueError(f"n_images must be >= 4 (FID needs two sets of >= 2), got {self.n_images}")
        if any(s < 0 for s in self.noise_levels) or list(self.noise_levels) != sorted(self.noise_levels):
            raise ValueError(f"noise_levels must be non-negative and increasing, got {self.noise_levels}")


#: The config of a scale (:meth:`ExperimentConfig.create`)
sanity_config = MetricSanityConfig.create


def _images(cfg: MetricSanityConfig) -> torch.Tensor:
    if cfg.scale is Scale.PAPER:
        return ImageFolder(dataset_path(cfg.data_root, "imagenet_val"), cfg.image_size, limit=cfg.n_images).load_all()
    return random_crops(cfg.n_images, cfg.image_size, split="train", seed=cfg.seed)


@experiment("foundation/metric_sanity")
def metric_sanity(cfg: MetricSanityConfig) -> dict:
    """Metrics between clean photos and noisy copies, per noise level; plus FID of two real halves."""
    clean = _images(cfg).to(device())
    clean_features = metrics.inception_features(clean)
    generator = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for sigma in tqdm(cfg.noise_levels, desc="noise levels"):
        noise = torch.randn(clean.shape, generator=generator).to(clean.device)
        noisy = (clean + sigma * noise).clamp(0, 1)
        rows.append(
            {
                "noise_std": sigma,
                "PSNR": float(metrics.psnr(noisy, clean).mean()),
                "SSIM": float(metrics.ssim(noisy, clean).mean()),
                "LPIPS_vgg": float(metrics.lpips(noisy, clean, net="vgg").mean()),
                "LPIPS_alex": float(metrics.lpips(noisy, clean, net="alex").mean()),
                "FID": metrics.frechet_distance(metrics.inception_features(noisy), clean_features),
            }
        )
    half = len(clean) // 2
    return {
        "noise_sweep": rows,
        "fid_two_real_halves": metrics.frechet_distance(clean_features[:half], clean_features[half:]),
        "n_images": len(clean),
        "image_size": cfg.image_size,
    }


def monotone_increasing(values: "list[float]") -> bool:
    """True when every value is strictly larger than the one before."""
    return bool(np.all(np.diff(np.asarray(values, dtype=float)) > 0))
