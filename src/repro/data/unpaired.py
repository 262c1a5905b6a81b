r"""Unpaired two-domain tasks with a hidden paired ground truth (CycleGAN analogues).

CycleGAN trains on two unmatched image collections; to measure L1/L2/NMSE per direction, every
test image needs its true counterpart. Both tasks here are deterministic renderings of photo-bank
crops, so the counterpart exists; training draws domain A and domain B from *different* crops,
so no pair is ever seen.

* ``photo2falsecolour`` (for *horse2zebra*): A is the photo; B the same scene in false colour,
  its channels rotated (R, G, B) -> (G, B, R). Like horse→zebra it changes the subject's
  appearance and keeps the layout, and the identity mapping (CycleGAN's failure mode under a
  large cycle weight) is visibly wrong. Unlike zebra→horse, the way back is exact. (A zebra-like
  striped rendering — black and white bands along the photo's iso-luminance lines — was tried first: no
  optimiser learnt it in the ``cpu`` budget, so it could not separate them.) A channel rotation
  leaves grey images unchanged, so this task draws only colourful crops (mean HSV saturation
  >= ``MIN_SATURATION``).
* ``photo2map`` (for *maps↔aerial*): A is the photo, B its map-like rendering from
  :mod:`repro.data.paired` (flat superpixel fills with outlines).
"""
from __future__ import annotations

import torch

from repro.data.paired import render
from repro.data.photos import random_crops

UNPAIRED_TASKS = ("photo2falsecolour", "photo2map")
#: Crops for ``photo2falsecolour`` must be at least this colourful (mean HSV saturation).
MIN_SATURATION = 0.15


def to_domain_b(task: str, photos: torch.Tensor) -> torch.Tensor:
    """Domain B's rendering of domain-A photos (the hidden ground truth)."""
    if task not in UNPAIRED_TASKS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(UNPAIRED_TASKS)}")
    return photos[:, [1, 2, 0]].contiguous() if task == "photo2falsecolour" else render("photo2map", photos)[1]


def _saturation(images: torch.Tensor) -> torch.Tensor:
    hi, lo = images.amax(1), images.amin(1)
    return ((hi - lo) / hi.clamp_min(1e-6)).mean(dim=(1, 2))


def crops(task: str, n: int, size: int, split: str, seed: int) -> torch.Tensor:
    """``n`` domain-A crops for ``task`` (only colourful ones for ``photo2falsecolour``)."""
    if task != "photo2falsecolour":
        return random_crops(n, size, split=split, seed=seed, min_side=size * 2)
    kept, attempt = [], 0
    while sum(len(k) for k in kept) < n:
        if attempt == 20:
            raise RuntimeError(f"fewer than {n} crops of the {split!r} photos reach saturation {MIN_SATURATION}")
        batch = random_crops(4 * n, size, split=split, seed=seed + 7919 * attempt, min_side=size * 2)
        kept.append(batch[_saturation(batch) >= MIN_SATURATION])
        attempt += 1
    return torch.cat(kept)[:n]


def unpaired_set(task: str, n: int, size: int, split: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` domain-A images and ``n`` domain-B images rendered from *other* crops (no pairs)."""
    return crops(task, n, size, split, seed), to_domain_b(task, crops(task, n, size, split, seed + 1))


def paired_set(task: str, n: int, size: int, split: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` (A, B) pairs that correspond exactly: for measuring each translation direction."""
    a = crops(task, n, size, split, seed)
    return a, to_domain_b(task, a)
