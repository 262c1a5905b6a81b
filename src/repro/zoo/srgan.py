r"""SRGAN's networks (Ledig et al. 2017), small enough for 2 CPU cores.

* :class:`SRResNet` — 9x9 stem with PReLU, ``n_blocks`` residual blocks (3x3 conv, BatchNorm,
  PReLU, 3x3 conv, BatchNorm), a global skip, then ``log2(factor)`` x2 upsampling stages
  (conv to 4x channels, PixelShuffle(2), PReLU) and a 9x9 head. Low-resolution input in [0, 1]
  -> high-resolution output in [0, 1] (no final activation, as in SRGAN; clamped when evaluated).
  With ``bicubic_skip=True`` the network's output is added to a bicubic upscale of the input
  (a global residual, not in SRGAN), so that a short CPU run starts from bicubic quality.
* :class:`SRDiscriminator` — SRGAN's VGG-style classifier: 3x3 convolutions alternating stride 1
  and 2 with LeakyReLU 0.2 (BatchNorm after the first), doubling the width every second layer,
  then global average pooling (instead of a fixed-size dense layer, so any crop size works), a
  dense layer, LeakyReLU and one logit.

``scale="paper"`` uses SRGAN's sizes (16 blocks of 64 channels, discriminator widths 64–512).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from repro.zoo.registry import register_model


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width), nn.PReLU(),
                                   nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class SRResNet(nn.Module):
    """(N, 3, h, w) in [0, 1] -> (N, 3, factor*h, factor*w)."""

    input_shape = (3, 8, 8)

    def __init__(self, width: int = 32, n_blocks: int = 4, factor: int = 4, bicubic_skip: bool = False) -> None:
        super().__init__()
        self.bicubic_skip = bicubic_skip
        if factor < 2 or factor & (factor - 1):
            raise ValueError(f"factor must be a power of two >= 2, got {factor}")
        self.factor = factor
        self.stem = nn.Sequential(nn.Conv2d(3, width, 9, 1, 4), nn.PReLU())
        self.body = nn.Sequential(*[_ResBlock(width) for _ in range(n_blocks)],
                                  nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width))
        up: list[nn.Module] = []
        for _ in range(int(math.log2(factor))):
            up += [nn.Conv2d(width, width * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU()]
        self.up = nn.Sequential(*up)
        self.head = nn.Conv2d(width, 3, 9, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stem = self.stem(x)
        out = self.head(self.up(stem + self.body(stem)))
        if self.bicubic_skip:
            out = out + nn.functional.interpolate(x, scale_factor=self.factor, mode="bicubic", align_corners=False)
        return out


class SRDiscriminator(nn.Module):
    """(N, 3, H, W) in [0, 1] -> (N,) real/fake logits."""

    input_shape = (3, 32, 32)

    def __init__(self, width: int = 16, n_stages: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, 1, 1), nn.LeakyReLU(0.2)]
        cin = width
        for stage in range(n_stages + 1):
            cout = width * 2**stage
            if stage:  # stride-1 conv widening, then stride-2
                layers += [nn.Conv2d(cin, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)]
                cin = cout
            layers += [nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, cin * 2), nn.LeakyReLU(0.2),
                                  nn.Linear(cin * 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


@register_model
def srresnet(**kwargs) -> SRResNet:
    return SRResNet(**kwargs)


@register_model
def srgan_discriminator(**kwargs) -> SRDiscriminator:
    return SRDiscriminator(**kwargs)
