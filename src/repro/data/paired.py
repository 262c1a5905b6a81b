r"""Paired image-to-image tasks built from the photo bank, with ground truth (pix2pix analogues).

No façade or map collection exists offline. Two deterministic renderings of real photos stand
in for them, so that every input has an exact target:

* ``labels2photo`` (for *facades*: semantic labels -> photo): the input is a label map — the
  photo cut into SLIC superpixels, each painted with the nearest of 12 flat "class" colours;
  the target is the photo.
* ``photo2map`` (for *maps*: aerial photo <-> map): the input is the photo; the target is a
  map-like rendering — each superpixel filled with one of 6 map colours (green where green
  dominates, blue where blue does, else white/beige/grey by brightness) and outlined in dark
  grey, like the flat fills and borders of a street map.

Both transforms are functions of the image only (SLIC with fixed settings), so the pairs are the
same everywhere. Crops come from :func:`repro.data.photos.random_crops` (train photos for
training, test photos for testing).
"""
from __future__ import annotations

import numpy as np
import torch
from skimage.segmentation import find_boundaries, slic

from repro.data.photos import random_crops
from repro.numerics import floating

TASKS = ("labels2photo", "photo2map")

#: 12 saturated "class" colours for label maps (in the spirit of the CMP facade palette).
LABEL_PALETTE = np.array([
    [0, 0, 170], [0, 85, 255], [0, 170, 255], [85, 255, 170], [170, 255, 85], [255, 255, 0],
    [255, 170, 0], [255, 85, 0], [170, 0, 0], [128, 0, 128], [40, 40, 40], [200, 200, 200],
], dtype=np.float32) / 255.0

#: 6 flat map colours: park green, water blue, road white, building beige, grey, dark.
MAP_PALETTE = np.array([
    [181, 208, 158], [170, 211, 223], [250, 250, 248], [240, 225, 200], [205, 205, 205], [120, 120, 120],
], dtype=np.float32) / 255.0


def _segments(image: np.ndarray, n_segments: int) -> np.ndarray:
    return slic(image, n_segments=n_segments, compactness=10.0, start_label=0, channel_axis=2)


def _paint(image: np.ndarray, segments: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each segment painted with the palette colour nearest to its mean colour."""
    out = np.empty_like(image)
    for label in np.unique(segments):
        region = segments == label
        mean = image[region].mean(axis=0)
        out[region] = palette[np.argmin(((palette - mean) ** 2).sum(axis=1))]
    return out


def _map_colour(mean: np.ndarray) -> np.ndarray:
    r, g, b = mean
    if g > r + 0.03 and g > b + 0.03:
        return MAP_PALETTE[0]
    if b > r + 0.03 and b > g:
        return MAP_PALETTE[1]
    brightness = float(mean.mean())
    return MAP_PALETTE[2 if brightness > 0.7 else 3 if brightness > 0.45 else 4 if brightness > 0.25 else 5]


def _paint_map(image: np.ndarray, segments: np.ndarray) -> np.ndarray:
    out = np.empty_like(image)
    for label in np.unique(segments):
        region = segments == label
        out[region] = _map_colour(image[region].mean(axis=0))
    return out


def render(task: str, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) of ``task`` for a batch of photos (N, 3, H, W) in [0, 1]."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    inputs, targets = [], []
    n_segments = max(16, images.shape[-1] * images.shape[-2] // 100)
    for photo in images.permute(0, 2, 3, 1).numpy():
        segments = _segments(photo, n_segments)
        if task == "labels2photo":
            inputs.append(_paint(photo, segments, LABEL_PALETTE))
            targets.append(photo)
        else:
            rendering = _paint_map(photo, segments)
            rendering[find_boundaries(segments, mode="inner")] = 0.25
            inputs.append(photo)
            targets.append(rendering)
    to_t = lambda arrays: floating(torch.from_numpy(np.stack(arrays))).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return to_t(inputs), to_t(targets)


def paired_set(task: str, n: int, size: int, split: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` (input, target) pairs of ``task`` from random crops of the ``split`` photos."""
    return render(task, random_crops(n, size, split=split, seed=seed, min_side=size * 2))
