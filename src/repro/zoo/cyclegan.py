r"""CycleGAN's generator (Zhu et al. 2017), small enough for 2 CPU cores at 32x32.

:class:`ResnetGenerator` is CycleGAN's ``resnet_9blocks`` in miniature: a 7x7 stem, two stride-2
downsampling convolutions, ``n_blocks`` residual blocks (reflection padding, InstanceNorm, ReLU),
two transposed convolutions back up and a 7x7 head with tanh; images in [-1, 1]. The
discriminator is the PatchGAN of :mod:`repro.zoo.pix2pix` on one image (``in_ch=3``).
``scale="paper"`` uses the original sizes (``ngf=64``, 9 blocks at 256x256).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from repro.zoo.registry import register_model


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, bias=False), nn.InstanceNorm2d(width, affine=True), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, bias=False), nn.InstanceNorm2d(width, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """(N, 3, H, W) in [-1, 1] -> (N, 3, H, W) in [-1, 1]; H and W divisible by 4."""

    input_shape = (3, 32, 32)

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 16, n_blocks: int = 3) -> None:
        super().__init__()
        norm = lambda c: nn.InstanceNorm2d(c, affine=True)  # noqa: E731
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7, bias=False), norm(ngf), nn.ReLU()]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=False), norm(ngf * mult * 2), nn.ReLU()]
        layers += [_ResBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=False),
                       norm(ngf * mult // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"ResnetGenerator needs H and W divisible by 4, got {tuple(x.shape[-2:])}")
        return self.net(x)


@register_model
def cyclegan_resnet(**kwargs) -> ResnetGenerator:
    return ResnetGenerator(**kwargs)
