r"""The papers' real datasets under ``data_root`` (used at ``scale="paper"``).

Expected layout (only the folders a chapter needs must exist)::

    <data_root>/
      celeba_hq/{train,test}/        CelebA-HQ 256x256 (AWA)
      celeba/{train,test}/           CelebA (AWA)
      paris_streetview/{train,test}/ Paris StreetView (AWA)
      places2/{train,test}/          Places2 (AWA)
      masks/                         NVIDIA irregular mask PNGs (AWA; white = hole)
      imagenet_train/                ImageNet training images (PGN training; any sub-folders)
      imagenet_val/                  ImageNet validation images (PGN)
      ffhq/                          FFHQ images (PGN, Image2StyleGAN)
      facades/{train,test}/          pix2pix facades, A|B side by side (MTAdam)
      maps/{train,test}/             pix2pix maps, A|B side by side (MTAdam)
      horse2zebra/{trainA,trainB,testA,testB}/  (MTAdam)
      set14/, bsd100/                super-resolution test sets (MTAdam)
      mnist/                         the four MNIST IDX files (MTAdam)

Any folder that is missing or holds no images gives one error naming the expected path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from repro.data.images import center_square, decode_image, resize, to_tensor
from repro.numerics import floating

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}

DATASETS: dict[str, str] = {
    "celeba_hq": "celeba_hq",
    "celeba": "celeba",
    "paris_streetview": "paris_streetview",
    "places2": "places2",
    "masks": "masks",
    "imagenet_train": "imagenet_train",
    "imagenet_val": "imagenet_val",
    "ffhq": "ffhq",
    "facades": "facades",
    "maps": "maps",
    "horse2zebra": "horse2zebra",
    "set14": "set14",
    "bsd100": "bsd100",
    "mnist": "mnist",
}


def dataset_path(data_root: "str | Path | None", name: str, split: "str | None" = None) -> Path:
    """``<data_root>/<dataset>[/<split>]``, checked to exist."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    if data_root is None:
        raise ValueError(f"dataset {name!r} needs data_root (scale='paper'); pass data_root='/path/to/datasets'")
    path = Path(data_root).expanduser() / DATASETS[name]
    if split is not None:
        path = path / split
    if not path.is_dir():
        raise FileNotFoundError(
            f"dataset folder {path} does not exist; put the {name} images there "
            f"(layout: see repro.data.folders) or run at scale='cpu'"
        )
    return path


def list_images(folder: "str | Path") -> list[Path]:
    """Image files in ``folder`` (recursively), sorted; an error if there are none."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"image folder {folder} holds no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


class ImageFolder(Dataset):
    """Images of a folder as centre squares resized to ``size``: items (3, size, size) in [0, 1]."""

    def __init__(self, folder: "str | Path", size: int, limit: "int | None" = None):
        self.files = list_images(folder)[:limit]
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        fix = "Replace or remove that file."
        return to_tensor([resize(center_square(decode_image(self.files[index], fix)), self.size)])[0]

    def load_all(self) -> torch.Tensor:
        return torch.stack([self[i] for i in range(len(self))])


def mask_folder(folder: "str | Path", size: int, hole_is_white: bool = True, limit: "int | None" = None) -> torch.Tensor:
    """Mask PNGs of a folder as (N, 1, size, size) tensors with 1 = hole."""
    masks = []
    for path in list_images(folder)[:limit]:
        grey = resize(decode_image(path, "Replace or remove that file."), size).mean(axis=2)
        hole = grey > 127 if hole_is_white else grey <= 127
        masks.append(hole)
    return floating(torch.from_numpy(np.stack(masks))).unsqueeze(1)
