r"""pix2pix networks (Isola et al. 2017), small enough for 2 CPU cores at 64x64.

* :class:`UNetGenerator` — encoder–decoder with skip connections; each level halves the
  resolution (Conv 4x4 stride 2, InstanceNorm, LeakyReLU 0.2) and the decoder mirrors it
  (ConvTranspose 4x4 stride 2, InstanceNorm, ReLU, dropout 0.5 on the innermost levels), tanh
  output in [-1, 1]. ``depth`` levels, ``ngf`` filters at the first.
* :class:`PatchDiscriminator` — the 70x70-style PatchGAN: strided 4x4 convolutions giving a grid
  of real/fake logits, on the (input, output) pair concatenated along channels.

The paper's generator is the 256x256 U-Net with 8 levels and ``ngf = 64``; ``scale="paper"``
uses those sizes.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from repro.zoo.registry import register_model


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int, norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]
        if norm:
            layers.append(nn.InstanceNorm2d(cout, affine=True))
        layers.append(nn.LeakyReLU(0.2))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int, dropout: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.InstanceNorm2d(cout, affine=True), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(0.5))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class UNetGenerator(nn.Module):
    """U-Net: images in [-1, 1] (N, in_ch, H, W) -> (N, out_ch, H, W) in [-1, 1]; H, W divisible by 2**depth."""

    input_shape = (3, 64, 64)

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 32, depth: int = 5, max_mult: int = 8) -> None:
        super().__init__()
        widths = [ngf * min(2**i, max_mult) for i in range(depth)]
        self.downs = nn.ModuleList([_Down(in_ch, widths[0], norm=False)] + [_Down(widths[i - 1], widths[i]) for i in range(1, depth)])
        ups = []
        for i in reversed(range(1, depth)):
            cin = widths[i] if i == depth - 1 else widths[i] * 2
            ups.append(_Up(cin, widths[i - 1], dropout=i >= depth - 3 and depth > 3))
        self.ups = nn.ModuleList(ups)
        self.out = nn.Sequential(nn.ConvTranspose2d(widths[0] * 2, out_ch, 4, 2, 1), nn.Tanh())
        self.divisor = 2**depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.divisor or x.shape[-2] % self.divisor:
            raise ValueError(f"UNetGenerator needs H and W divisible by {self.divisor}, got {tuple(x.shape[-2:])}")
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()
        for up in self.ups:
            x = torch.cat([up(x), skips.pop()], dim=1)
        return self.out(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: (condition, image) pairs in [-1, 1] -> a grid of logits."""

    input_shape = (6, 64, 64)

    def __init__(self, in_ch: int = 6, ndf: int = 32, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        width = ndf
        for i in range(1, n_layers + 1):
            nxt = ndf * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(width, nxt, 4, stride, 1, bias=False), nn.InstanceNorm2d(nxt, affine=True), nn.LeakyReLU(0.2)]
            width = nxt
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_model
def pix2pix_unet(**kwargs) -> UNetGenerator:
    return UNetGenerator(**kwargs)


@register_model
def patchgan(**kwargs) -> PatchDiscriminator:
    return PatchDiscriminator(**kwargs)
