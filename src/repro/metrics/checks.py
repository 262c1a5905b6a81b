"""Input checks shared by the metrics: shapes and value ranges that explain themselves."""
from __future__ import annotations

import torch


def check_images(x: torch.Tensor, y: "torch.Tensor | None" = None, name: str = "metric") -> None:
    """Raise one clear error unless ``x`` (and ``y``) are (N, C, H, W) images in ``[0, 1]``."""
    for label, t in (("x", x), ("y", y)):
        if t is None:
            continue
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: {label} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 4 or t.shape[1] not in (1, 3):
            raise ValueError(f"{name}: {label} must have shape (N, 1|3, H, W), got {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name}: {label} holds NaN or inf values")
        lo, hi = float(t.min()), float(t.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(
                f"{name}: {label} must hold values in [0, 1], got [{lo:.3g}, {hi:.3g}] "
                "(images in [-1, 1]: pass (x + 1) / 2; in [0, 255]: pass x / 255)"
            )
    if y is not None and x.shape != y.shape:
        raise ValueError(f"{name}: x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
