"""Decoding and resizing images, with one clear error for a corrupt file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from repro.numerics import floating


def decode_image(path: Path, fix: str) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 array; grey images are replicated to RGB.

    ``fix`` is appended to the error message of a corrupt or unreadable file.
    """
    try:
        with Image.open(path) as im:
            im.load()
            return to_rgb(np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB") else im))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"cannot decode image {path}: {err}. {fix}") from None


def to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {array.shape}")
    return np.ascontiguousarray(array.astype(np.uint8))


def center_square(array: np.ndarray) -> np.ndarray:
    h, w = array.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return array[top : top + s, left : left + s]


def resize(array: np.ndarray, size: int) -> np.ndarray:
    """Resize an (H, W, 3) uint8 array to (size, size) with PIL's antialiased bicubic filter."""
    if array.shape[:2] == (size, size):
        return array
    return np.asarray(Image.fromarray(array).resize((size, size), Image.Resampling.BICUBIC))


def to_tensor(arrays: "list[np.ndarray]") -> torch.Tensor:
    """(H, W, 3) uint8 arrays -> tensor (N, 3, H, W) in [0, 1], in the default floating type
    (:mod:`repro.numerics`)."""
    stacked = floating(torch.from_numpy(np.stack(arrays))) / 255.0
    return stacked.permute(0, 3, 1, 2).contiguous()


def to_uint8_images(images: torch.Tensor) -> list:
    """The inverse of :func:`to_tensor`: (N, 3, H, W) in [0, 1] -> nested lists of (H, W, 3) uint8
    images (JSON-storable; NaN shown as black)."""
    return (images.detach().nan_to_num(0.0).clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy().tolist()
