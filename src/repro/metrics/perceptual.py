r"""LPIPS (Zhang et al. 2018) on images in ``[0, 1]``, via the ``lpips`` package.

The network is the ``lpips`` package's own (version 0.1, spatially averaged) with the genuine
ImageNet backbone and heads loaded offline (:mod:`repro.zoo.lpips_net`). AWA reports LPIPS-VGG;
LPIPS' own default backbone is AlexNet.
"""
from __future__ import annotations

import torch

from repro.metrics.checks import check_images
from repro.zoo import pretrained_model


def lpips(x: torch.Tensor, y: torch.Tensor, net: str = "vgg", batch_size: int = 16) -> torch.Tensor:
    """Per-image LPIPS distance between ``x`` and ``y`` (both in ``[0, 1]``), shape (N,)."""
    check_images(x, y, "lpips")
    if x.shape[1] == 1:
        x, y = x.expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1)
    model = pretrained_model(f"lpips_{net}").to(x.device)
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(2 * x[i : i + batch_size] - 1, 2 * y[i : i + batch_size] - 1))
    return torch.cat(out)
