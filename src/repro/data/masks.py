r"""Irregular hole masks in the AWA paper's hole-ratio bins, deterministic by seed.

The AWA paper evaluates with NVIDIA's irregular mask set (Liu et al. 2018), grouped by the
fraction of the image that is a hole: (0.01, 0.1], (0.1, 0.2], …, (0.5, 0.6]. That set is not
available offline, so the book draws its own masks of the same kind — free-form brush strokes
(random walks of thick line segments) — and keeps drawing until the hole ratio falls inside the
requested bin. A mask is a function of (size, bin, seed) only. Drawn masks are the training masks
at every scale and the test masks below ``scale="paper"``; at ``scale="paper"`` the test masks are
NVIDIA's, read from ``<data_root>/masks`` and binned by their hole ratio at the run's image size
(:func:`binned_mask_folder`).

Convention: masks are boolean arrays / float tensors with **1 = hole** (missing pixel), 0 = known.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from repro.data.folders import list_images, read_mask
from repro.numerics import floating

#: The paper's hole-ratio bins, as (low, high] intervals.
HOLE_RATIO_BINS: tuple[tuple[float, float], ...] = (
    (0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6),
)


def bin_label(bin_: tuple[float, float]) -> str:
    """The paper's notation for a bin, e.g. ``"(0.1,0.2]"``."""
    return f"({bin_[0]:g},{bin_[1]:g}]"


def bin_of(ratio: float) -> "int | None":
    """The index of the bin ``(low, high]`` holding a hole ratio, or ``None`` outside every bin."""
    for index, (lo, hi) in enumerate(HOLE_RATIO_BINS):
        if lo < ratio <= hi:
            return index
    return None


def hole_ratio(mask: "np.ndarray | torch.Tensor") -> float:
    """Fraction of hole pixels."""
    return float((mask > 0.5).float().mean() if isinstance(mask, torch.Tensor) else (np.asarray(mask) > 0.5).mean())


def _disk(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None] ** 2 + r[None, :] ** 2) <= radius**2


def _stroke(size: int, rng: np.random.Generator, max_width: float) -> np.ndarray:
    """One brush stroke: a random walk of 3-9 thick segments."""
    canvas = np.zeros((size, size), dtype=bool)
    radius = max(1, int(rng.uniform(0.3, 1.0) * max_width / 2))
    stamp = _disk(radius)
    y, x = rng.uniform(0, size, 2)
    angle = rng.uniform(0, 2 * np.pi)
    for _ in range(int(rng.integers(3, 10))):
        angle += rng.uniform(-np.pi / 2, np.pi / 2)
        length = rng.uniform(0.05, 0.3) * size
        y2 = float(np.clip(y + length * np.sin(angle), 0, size - 1))
        x2 = float(np.clip(x + length * np.cos(angle), 0, size - 1))
        steps = max(2, int(np.hypot(y2 - y, x2 - x) / max(1, radius / 2)))
        for t in np.linspace(0, 1, steps):
            cy, cx = int(round(y + t * (y2 - y))), int(round(x + t * (x2 - x)))
            y0, x0 = cy - radius, cx - radius
            sy0, sx0 = max(0, -y0), max(0, -x0)
            sy1 = stamp.shape[0] - max(0, y0 + stamp.shape[0] - size)
            sx1 = stamp.shape[1] - max(0, x0 + stamp.shape[1] - size)
            canvas[max(0, y0) : y0 + sy1, max(0, x0) : x0 + sx1] |= stamp[sy0:sy1, sx0:sx1]
        y, x = y2, x2
    return canvas


def irregular_mask(size: int, bin_index: int, seed: int = 0) -> np.ndarray:
    r"""A (size, size) boolean hole mask whose hole ratio lies in ``HOLE_RATIO_BINS[bin_index]``.

    A target ratio is drawn uniformly inside the bin and strokes are added until the hole ratio
    reaches it; a stroke that would overshoot the bin's upper end is undone and retried thinner. Deterministic in ``(size, bin_index, seed)``.
    """
    if not 0 <= bin_index < len(HOLE_RATIO_BINS):
        raise ValueError(f"bin_index must be in 0..{len(HOLE_RATIO_BINS) - 1}, got {bin_index}")
    if size < 16:
        raise ValueError(f"mask size must be >= 16, got {size}")
    lo, hi = HOLE_RATIO_BINS[bin_index]
    rng = np.random.default_rng([seed, bin_index, size])
    mask = np.zeros((size, size), dtype=bool)
    target = rng.uniform(lo, hi)
    max_width = size * (0.04 + 0.16 * hi)
    for _ in range(10_000):
        if target <= mask.mean() <= hi:
            return mask
        candidate = mask | _stroke(size, rng, max_width)
        if candidate.mean() > hi:
            max_width = max(2.0, max_width * 0.7)
            continue
        mask = candidate
    raise RuntimeError(f"could not draw a mask in bin {bin_label((lo, hi))} (size {size}, seed {seed})")


def mask_set(n_per_bin: int, size: int, seed: int = 0, bins: "tuple[int, ...] | None" = None) -> dict[str, torch.Tensor]:
    """``n_per_bin`` masks for each bin: ``{"(0.1,0.2]": tensor (n, 1, size, size) of 0/1}``."""
    chosen = range(len(HOLE_RATIO_BINS)) if bins is None else bins
    out = {}
    for b in chosen:
        masks = [irregular_mask(size, b, seed=seed * 100_003 + i) for i in range(n_per_bin)]
        out[bin_label(HOLE_RATIO_BINS[b])] = floating(torch.from_numpy(np.stack(masks))).unsqueeze(1)
    return out


def binned_mask_folder(folder: "str | Path", size: int, n_per_bin: int, bins: "tuple[int, ...] | None" = None,
                       hole_is_white: bool = True) -> dict[str, torch.Tensor]:
    """Mask images of ``folder`` (e.g. NVIDIA's irregular test masks), resized to ``size``, grouped by
    hole ratio: ``{"(0.1,0.2]": tensor (n_per_bin, 1, size, size) of 0/1}`` for each bin of ``bins``.

    Each bin takes the first ``n_per_bin`` masks of the folder (sorted file order) whose ratio falls in
    it, repeated in order when it has fewer; files are read until every bin is full. A bin that no
    mask falls in is an error naming it.
    """
    chosen = tuple(range(len(HOLE_RATIO_BINS))) if bins is None else tuple(bins)
    found: dict[int, list] = {b: [] for b in chosen}
    ratios = []
    for path in list_images(folder):
        hole = read_mask(path, size, hole_is_white)
        ratios.append(float(hole.mean()))
        b = bin_of(ratios[-1])
        if b in found and len(found[b]) < n_per_bin:
            found[b].append(hole)
            if all(len(v) == n_per_bin for v in found.values()):
                break
    empty = [bin_label(HOLE_RATIO_BINS[b]) for b, v in found.items() if not v]
    if empty:
        raise ValueError(
            f"no mask of {folder} has a hole ratio in {', '.join(empty)} at {size}x{size} px ({len(ratios)} masks "
            f"read, ratios {min(ratios):.3f} to {max(ratios):.3f}; white = hole={hole_is_white}): the AWA paper's "
            "test set is NVIDIA's irregular mask set (Liu et al. 2018), with masks in every bin")
    return {bin_label(HOLE_RATIO_BINS[b]): floating(torch.from_numpy(np.stack([v[i % len(v)] for i in range(n_per_bin)]))).unsqueeze(1)
            for b, v in found.items()}
