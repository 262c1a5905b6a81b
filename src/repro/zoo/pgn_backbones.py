r"""PGN backbones (Nikulin et al., Fig. 9): image-to-image networks taking the generated image and the
target (6 channels, ImageNet-normalised) and returning 3 channels.

The zoo knows no paper: :func:`backbone` builds the bare network. The registry entries ``pgn_*``,
which return a whole :class:`repro.pgn.PGN` (a backbone plus the mode that turns its output into a
gradient) and load the PGNs ``repro train-pgn`` trained, are assembled in :mod:`repro.pgn.models`.

``resnet4`` / ``resnet6`` / ``resnet8``
    conv 64 -> strided conv 128 -> N residual blocks at half resolution -> x2 upsampling + conv 64
    -> conv to 3; BatchNorm and LeakyReLU(0.2) (the official code's choices). ResNet-4 has
    1.34 M parameters, as in the paper's Table 1.
``unet``
    a UNet with 5 downscales and upscales built from separable "double Blaze" blocks (BlazeFace's
    depthwise 5x5 + pointwise convolutions, twice, with a residual path), far fewer MACs per pixel.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F



def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2))


class _ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch), nn.LeakyReLU(0.2),
                                  nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.body(x), 0.2)


class PGNResNet(nn.Module):
    input_shape = (6, 32, 32)

    def __init__(self, n_blocks: int = 4, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            _conv_bn(6, width), _conv_bn(width, 2 * width, 2), *[_ResBlock(2 * width) for _ in range(n_blocks)],
            nn.Upsample(scale_factor=2, mode="nearest"), _conv_bn(2 * width, width), nn.Conv2d(width, 3, 3, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 6 or x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f"PGN backbones take (B, 6, H, W) with even H and W, got {tuple(x.shape)}")
        return self.net(x)


class DoubleBlaze(nn.Module):
    """BlazeFace's double block: (depthwise 5x5, pointwise to ``mid``), ReLU, (depthwise 5x5, pointwise
    to ``cout``), plus a residual path (max-pooled and channel-padded when strided); then ReLU."""

    def __init__(self, cin: int, cout: int, mid: int, stride: int = 1) -> None:
        super().__init__()
        self.stride, self.pad = stride, cout - cin
        self.branch = nn.Sequential(
            nn.Conv2d(cin, cin, 5, stride, 2, groups=cin, bias=False), nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid),
            nn.ReLU(), nn.Conv2d(mid, mid, 5, 1, 2, groups=mid, bias=False), nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        if self.pad < 0:
            raise ValueError("DoubleBlaze cannot reduce channels on its residual path")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = F.max_pool2d(x, 2) if self.stride == 2 else x
        if self.pad:
            skip = F.pad(skip, (0, 0, 0, 0, 0, self.pad))
        return F.relu(self.branch(x) + skip)


UNET_WIDTHS = (32, 64, 128, 256, 384, 512)


class PGNUNet(nn.Module):
    input_shape = (6, 64, 64)

    def __init__(self, widths: tuple = UNET_WIDTHS) -> None:  # 1.71 M parameters (paper: 1.77 M)
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(6, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        self.downs = nn.ModuleList(DoubleBlaze(widths[i], widths[i + 1], widths[i], stride=2) for i in range(5))
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i + 1] + widths[i], widths[i], 1, bias=False), nn.BatchNorm2d(widths[i]), nn.ReLU(),
                          DoubleBlaze(widths[i], widths[i], widths[i]))
            for i in reversed(range(5))
        )
        self.out = nn.Conv2d(widths[0], 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 6 or x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"pgn_unet takes (B, 6, H, W) with H and W divisible by 32, got {tuple(x.shape)}")
        h = self.stem(x)
        skips = [h]
        for down in self.downs:
            h = down(h)
            skips.append(h)
        skips.pop()
        for up in self.ups:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = up(torch.cat([h, skips.pop()], 1))
        return self.out(h)


BACKBONES = ("resnet4", "resnet6", "resnet8", "unet")


def backbone(name: str, width: int = 64) -> nn.Module:
    """A fresh backbone: ``resnet4|6|8`` with ``width`` channels (the paper's 64), or ``unet`` with
    its widths scaled by ``width / 64``."""
    if name not in BACKBONES:
        raise ValueError(f"unknown PGN backbone {name!r}; valid: {', '.join(BACKBONES)}")
    if name == "unet":
        return PGNUNet(tuple(max(1, w * width // 64) for w in UNET_WIDTHS))
    return PGNResNet(int(name[len("resnet"):]), width)
