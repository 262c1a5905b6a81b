r"""Three small inpainting generators in the spirit of the AWA paper's base models, and their discriminator.

All three take the masked image :math:`x = (1 - M) \odot y` in :math:`[-1, 1]` and the mask
:math:`M` (1 = hole) and return an :class:`InpaintOutput`: the image in :math:`[-1, 1]` and the
structure maps the network predicts on the way (targets: :func:`edge_map` of
the ground truth, resized). Each ends in a 1x1 convolution, ``last_layer`` — the layer the
official AWA code takes its gradients from. They are sketches of the published designs at a
fraction of their size (0.2-0.26 M parameters at ``width=16``, the book's ``cpu`` scale; 2.8-4.1 M
at ``width=64``, its ``paper`` scale; the originals have tens of millions), so that they train
on 2 CPU cores at 32-64 px and at 256 px on a GPU.

``ctsdg_small``
    CTSDG (Guo et al. 2021): two streams — a texture encoder on the image and a structure
    stream on the masked edge map — that are fused and decoded twice: the texture decoder
    predicts the image, the structure decoder the full edge map. As in CTSDG, the encoders'
    downsampling convolutions are batch-normalised, and fine-tuning freezes those statistics
    (:meth:`InpaintingGenerator.freeze_statistics`, CTSDG's ``generator.train(finetune=True)``).
``edgeconnect_small``
    EdgeConnect (Nazeri et al. 2019): an edge generator completes the edge map, then an image
    generator paints the image conditioned on it. The edge stage is trained with its own loss;
    only the image stage (``image_stage``) sees the main and auxiliary image losses (the
    paper's EG2).
``prvs_small``
    PRVS (Li et al. 2019): a U-Net whose encoder progressively reconstructs structure maps
    (visual structure reconstruction layers at 1/2 and 1/4 resolution) and feeds them back into
    its features.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.zoo.registry import register_model


@dataclasses.dataclass
class InpaintOutput:
    image: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    structures: list  # predicted structure maps (B, 1, h, w) in [0, 1]


def edge_map(image: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of the luminance of images in [-1, 1], scaled to [0, 1]: (B, 1, H, W).

    The structure map the three generators predict (CTSDG's edges, EdgeConnect's edge stage,
    PRVS's structure maps); a parameter-free stand-in for Canny (which has no gradient).
    """
    grey = (0.299 * image[:, 0:1] + 0.587 * image[:, 1:2] + 0.114 * image[:, 2:3] + 1) / 2
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=image.dtype, device=image.device)
    kernel = torch.stack([kx, kx.t()]).unsqueeze(1)
    g = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernel)
    return (g.pow(2).sum(1, keepdim=True) + 1e-12).sqrt().div(4).clamp(0, 1)


def _conv(cin: int, cout: int, stride: int = 1, norm: bool = False) -> nn.Sequential:
    if norm:  # the convolution's bias would be cancelled by the normalisation
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2))
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1), nn.LeakyReLU(0.2))


class _Res(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(ch, ch, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _ImageHead(nn.Module):
    """3x3 conv, then the 1x1 ``last_layer`` to RGB and tanh."""

    def __init__(self, cin: int, width: int) -> None:
        super().__init__()
        self.body = _conv(cin, width)
        self.last_layer = nn.Conv2d(width, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.last_layer(self.body(x)))


class InpaintingGenerator(nn.Module):
    """Common checks: H and W divisible by 4, mask shape (B, 1, H, W); fine-tuning's frozen statistics."""

    def freeze_statistics(self, frozen: bool = True) -> "InpaintingGenerator":
        """CTSDG's fine-tuning stage (``generator.train(finetune=True)``): from now on every BatchNorm
        layer normalises with its running statistics and no longer updates them, also while the rest
        of the network trains. A generator without BatchNorm is unaffected."""
        self._frozen_statistics = frozen
        return self.train(self.training)

    def train(self, mode: bool = True) -> "InpaintingGenerator":
        super().train(mode)
        if getattr(self, "_frozen_statistics", False):
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def last_layer(self) -> nn.Module:
        return self.head.last_layer

    def example_inputs(self, batch: int = 2, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
        """A masked image and its mask (a centred square hole), for smoke tests of the zoo."""
        mask = torch.zeros(batch, 1, size, size)
        mask[..., size // 4 : size // 2, size // 4 : size // 2] = 1
        return torch.rand(batch, 3, size, size) * 2 - 1, mask

    def _check(self, x: torch.Tensor, mask: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != 3 or mask.shape != (x.shape[0], 1, *x.shape[2:]):
            raise ValueError(f"expected x (B, 3, H, W) and mask (B, 1, H, W), got {tuple(x.shape)} and {tuple(mask.shape)}")
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"H and W must be divisible by 4, got {tuple(x.shape[-2:])}")


class CTSDGSmall(InpaintingGenerator):
    def __init__(self, width: int = 24) -> None:
        super().__init__()
        w = width
        self.texture_enc = nn.Sequential(_conv(4, w), _conv(w, 2 * w, 2, norm=True), _conv(2 * w, 4 * w, 2, norm=True))
        self.structure_enc = nn.Sequential(_conv(2, w), _conv(w, 2 * w, 2, norm=True), _conv(2 * w, 4 * w, 2, norm=True))
        self.fuse = nn.Sequential(nn.Conv2d(8 * w, 4 * w, 1), nn.LeakyReLU(0.2), _Res(4 * w), _Res(4 * w))
        self.structure_dec = nn.Sequential(_up(4 * w, 2 * w), _up(2 * w, w), nn.Conv2d(w, 1, 3, 1, 1), nn.Sigmoid())
        self.tex_up1 = _up(4 * w, 2 * w)
        self.tex_up2 = _up(4 * w, w)
        self.head = _ImageHead(2 * w, w)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> InpaintOutput:
        self._check(x, mask)
        edges = edge_map(x) * (1 - mask)
        t1 = self.texture_enc[0](torch.cat([x, mask], 1))
        t2 = self.texture_enc[1](t1)
        t = self.texture_enc[2](t2)
        s = self.structure_enc(torch.cat([edges, mask], 1))
        h = self.fuse(torch.cat([t, s], 1))
        structure = self.structure_dec(h)
        u = self.tex_up1(h)
        u = self.tex_up2(torch.cat([u, t2], 1))
        return InpaintOutput(self.head(torch.cat([u, t1], 1)), [structure])


class _ImageStage(InpaintingGenerator):
    """EdgeConnect's image generator: encoder, residual blocks, decoder."""

    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        self.enc = nn.Sequential(_conv(5, w), _conv(w, 2 * w, 2), _conv(2 * w, 4 * w, 2))
        self.res = nn.Sequential(_Res(4 * w), _Res(4 * w))
        self.dec = nn.Sequential(_up(4 * w, 2 * w), _up(2 * w, w))
        self.head = _ImageHead(w, w)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        return self.head(self.dec(self.res(self.enc(torch.cat([x, edges, mask], 1)))))


class EdgeConnectSmall(InpaintingGenerator):
    def __init__(self, width: int = 24) -> None:
        super().__init__()
        w = width
        self.edge_stage = nn.Sequential(
            _conv(3, w), _conv(w, 2 * w, 2), _conv(2 * w, 2 * w, 2), _Res(2 * w),
            _up(2 * w, 2 * w), _up(2 * w, w), nn.Conv2d(w, 1, 3, 1, 1), nn.Sigmoid(),
        )
        self.image_stage = _ImageStage(w)
        self.head = self.image_stage.head

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> InpaintOutput:
        self._check(x, mask)
        grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]) * (1 - mask)
        known_edges = edge_map(x) * (1 - mask)
        edges = self.edge_stage(torch.cat([grey, known_edges, mask], 1))
        full_edges = known_edges + mask * edges.detach()  # the image stage does not train the edge stage
        return InpaintOutput(self.image_stage(x, mask, full_edges), [edges])


class _VSR(nn.Module):
    """A visual structure reconstruction layer: predict a structure map, feed it back."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.predict = nn.Sequential(nn.Conv2d(ch, 1, 3, 1, 1), nn.Sigmoid())
        self.merge = _conv(ch + 1, ch)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        structure = self.predict(h)
        return self.merge(torch.cat([h, structure], 1)), structure


class PRVSSmall(InpaintingGenerator):
    def __init__(self, width: int = 24) -> None:
        super().__init__()
        w = width
        self.enc1 = _conv(4, w)
        self.enc2 = _conv(w, 2 * w, 2)
        self.vsr2 = _VSR(2 * w)
        self.enc3 = _conv(2 * w, 4 * w, 2)
        self.vsr3 = _VSR(4 * w)
        self.res = _Res(4 * w)
        self.up1 = _up(4 * w, 2 * w)
        self.up2 = _up(4 * w, w)
        self.head = _ImageHead(2 * w, w)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> InpaintOutput:
        self._check(x, mask)
        e1 = self.enc1(torch.cat([x, mask], 1))
        e2, s2 = self.vsr2(self.enc2(e1))
        e3, s3 = self.vsr3(self.enc3(e2))
        u = self.up1(self.res(e3))
        u = self.up2(torch.cat([u, e2], 1))
        return InpaintOutput(self.head(torch.cat([u, e1], 1)), [s2, s3])


class InpaintingDiscriminator(nn.Module):
    """A PatchGAN on images in [-1, 1]: strided 4x4 convolutions, LeakyReLU, one logit per patch.

    No normalisation layers (CTSDG and EdgeConnect use spectral normalisation, whose power
    iteration changes the network at every forward; AWA's look-ahead re-runs it, so it stays out).
    """

    def __init__(self, width: int = 32, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        ch = width
        for _ in range(1, n_layers):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.2)]
            ch *= 2
        layers.append(nn.Conv2d(ch, 1, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


GENERATORS = {"ctsdg": "ctsdg_small", "edgeconnect": "edgeconnect_small", "prvs": "prvs_small"}


@register_model
def ctsdg_small(width: int = 24) -> CTSDGSmall:
    return CTSDGSmall(width)


@register_model
def edgeconnect_small(width: int = 24) -> EdgeConnectSmall:
    return EdgeConnectSmall(width)


@register_model
def prvs_small(width: int = 24) -> PRVSSmall:
    return PRVSSmall(width)


@register_model
def inpainting_patchgan(width: int = 32, n_layers: int = 3) -> InpaintingDiscriminator:
    return InpaintingDiscriminator(width, n_layers)
