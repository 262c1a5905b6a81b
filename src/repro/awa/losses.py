r"""The inpainting losses of Hui et al.: the main loss (Eq. 1) and TPL / TSL (Eqs. 2-6).

Notation (images in :math:`[-1, 1]`, mask :math:`M` with 1 = hole):
:math:`\tilde y = g(x; \theta)` the generator output, :math:`\hat y = M \odot \tilde y +
(1 - M) \odot y` the composite, :math:`\psi_n` the VGG-16 feature map at ``pool1``, ``pool2``,
``pool3``, :math:`G(F) = F F^\top / (C H W)` the Gram matrix. As in the official code (CTSDG's
``VGG16FeatureExtractor``), VGG-16 receives the images in :math:`[-1, 1]` as the data loader gives
them, with **no** ImageNet normalisation (``vgg_input="official"``); ``"imagenet"`` maps them to
:math:`[0, 1]` and normalises them (this book's convention before it was checked against the code).

Main loss (Eq. 1), :math:`\lambda_m^\top L_m` with :math:`L_m = (L_{valid}, L_{hole}, L_{struct},
L_{adv})`, with CTSDG's official weights (:data:`CTSDG_BALANCE`): valid-region L1 10, hole L1 60,
the generator's own structure-map L1 1.0 (CTSDG's intermediate loss; here against Sobel edges), and
the non-saturating GAN loss of a PatchGAN on the output 0.1. Liu et al.'s partial-convolution values
(valid 1, hole 6), which this book used before, leave the auxiliary terms about 16x heavier
relative to the main loss than in CTSDG (:data:`LIU_BALANCE`, kept as an option). A total-variation
term (weight ``tv``) is off: CTSDG has none.

Auxiliary terms, one per feature level :math:`n = 1, 2, 3` (Eqs. 2-3, as in the official code)

.. math::
    L^n_{perc} = \lVert\psi_n(\tilde y) - \psi_n(y)\rVert_1 + \lVert\psi_n(\hat y) - \psi_n(y)\rVert_1,
    \qquad
    L^n_{styl} = \lVert G(\psi_n(\tilde y)) - G(\psi_n(y))\rVert_1
               + \lVert G(\psi_n(\hat y)) - G(\psi_n(y))\rVert_1

(means over elements). TPL and TSL weigh them separately (Eqs. 4-5):
:math:`\omega_p = \lambda_p \odot \sigma(\phi_p)`, :math:`\omega_s = \lambda_s \odot
\sigma(\phi_s)`, so each weight lies in :math:`(0, \lambda)`; the logits start where every
weight equals the base model's default (perceptual 0.1, style 250), i.e. TPL/TSL equal the
standard perceptual and style losses at step 0. The upper bounds are the paper's
:math:`\lambda_p = 2`, :math:`\lambda_s = 750`. The total loss is Eq. 6:
:math:`\mathcal L_t = \lambda_m^\top L_m + \omega_p^\top L_p + \omega_s^\top L_s`.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from repro.zoo.inpainting import InpaintOutput, edge_map
from repro.zoo.vgg import ImageNetNormalize

#: The feature levels of TPL/TSL (the first three max-pooling layers of VGG-16).
LEVELS: tuple[str, ...] = ("pool1", "pool2", "pool3")
#: Names of the six auxiliary terms, in the order of the weight vector.
TERM_NAMES: tuple[str, ...] = tuple(f"perc_{lv}" for lv in LEVELS) + tuple(f"styl_{lv}" for lv in LEVELS)
#: The base models' default weights (CTSDG): perceptual 0.1, style 250.
DEFAULT_WEIGHTS: tuple[float, ...] = (0.1,) * 3 + (250.0,) * 3
#: The paper's upper bounds lambda_p = 2 and lambda_s = 750 (0.1 x 20, 250 x 3).
UPPER_BOUNDS: tuple[float, ...] = (2.0,) * 3 + (750.0,) * 3


@dataclasses.dataclass(frozen=True)
class MainWeights:
    """lambda_m of Eq. 1 (and the hole/valid split of the L1 term); defaults: CTSDG's official values."""

    valid: float = 10.0
    hole: float = 60.0
    structure: float = 1.0
    adv: float = 0.1
    tv: float = 0.0


#: CTSDG's official main-loss weights (``options/train_options.py`` of the AWA repository).
CTSDG_BALANCE = MainWeights()
#: Liu et al.'s partial-convolution weights (valid 1, hole 6) with a TV term: the book's earlier balance.
LIU_BALANCE = MainWeights(valid=1.0, hole=6.0, tv=0.1)
#: ``InpaintConfig.balance`` -> main-loss weights.
BALANCES = {"ctsdg": CTSDG_BALANCE, "liu": LIU_BALANCE}
#: How VGG-16 receives the [-1, 1] images: as they are (the official code) or ImageNet-normalised.
VGG_INPUTS = ("official", "imagenet")


def gram(features: torch.Tensor) -> torch.Tensor:
    r""":math:`F F^\top / (C H W)` per image: (B, C, H, W) -> (B, C, C)."""
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    return (image[..., 1:, :] - image[..., :-1, :]).abs().mean() + (image[..., :, 1:] - image[..., :, :-1]).abs().mean()


def composite(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The output inside the hole, the known pixels outside it."""
    return mask * output + (1 - mask) * target


class AuxiliaryTerms(nn.Module):
    r"""The six auxiliary terms :math:`(L^1_{perc}, L^2_{perc}, L^3_{perc}, L^1_{styl}, L^2_{styl}, L^3_{styl})`.

    One VGG-16 forward over the output and the composite together; the target's features (and
    Gram matrices) need no gradient and are computed once per batch (:meth:`target_features`)
    and reused by every pass over that batch (look-ahead, inner products, the generator step).
    ``vgg`` must not normalise its inputs itself (``vgg16_features(normalize=False)``); ``vgg_input``
    says what it receives (:data:`VGG_INPUTS`).
    """

    def __init__(self, vgg: nn.Module, vgg_input: str = "official") -> None:
        super().__init__()
        if vgg_input not in VGG_INPUTS:
            raise ValueError(f"vgg_input must be one of {VGG_INPUTS}, got {vgg_input!r}")
        if isinstance(getattr(vgg, "normalize", None), ImageNetNormalize):
            raise ValueError("AuxiliaryTerms needs a VGG that does not normalise its inputs: "
                             "pretrained_model('vgg16_features', normalize=False)")
        self.vgg = vgg
        self.vgg_input = vgg_input
        self.imagenet = ImageNetNormalize() if vgg_input == "imagenet" else None

    def _vgg(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = images if self.imagenet is None else self.imagenet((images + 1) / 2)
        return self.vgg(x, list(LEVELS))

    def target_features(self, target: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        with torch.no_grad():
            return [(f, gram(f)) for f in self._vgg(target)]

    def forward(self, output: torch.Tensor, comp: torch.Tensor, target: torch.Tensor,
                target_features: "list | None" = None) -> torch.Tensor:
        b = len(output)
        reference = self.target_features(target) if target_features is None else target_features
        feats = self._vgg(torch.cat([output, comp]))
        perc, styl = [], []
        for f, (f_gt, g_gt) in zip(feats, reference):
            f_out, f_comp = f[:b], f[b:]
            perc.append((f_out - f_gt).abs().mean() + (f_comp - f_gt).abs().mean())
            styl.append((gram(f_out) - g_gt).abs().mean() + (gram(f_comp) - g_gt).abs().mean())
        return torch.stack(perc + styl)


class TunableWeights(nn.Module):
    r"""TPL/TSL weights :math:`\omega = \lambda \odot \sigma(\phi)` (Eqs. 4-5), one per term.

    ``tied=True`` shares one logit across the terms of each loss (a standard perceptual and a
    standard style loss with adaptive weights: AWA on PL/SL, Table II experiment 2).
    """

    def __init__(self, init: "tuple[float, ...]" = DEFAULT_WEIGHTS, upper: "tuple[float, ...]" = UPPER_BOUNDS,
                 tied: bool = False) -> None:
        super().__init__()
        if len(init) != len(upper):
            raise ValueError(f"init has {len(init)} weights but upper has {len(upper)}")
        if not all(0 < w < u for w, u in zip(init, upper)):
            raise ValueError(f"every initial weight must lie strictly inside (0, upper bound): {init} vs {upper}")
        self.register_buffer("upper", torch.tensor(upper, dtype=torch.get_default_dtype()))
        logits = torch.tensor([math.log(w / (u - w)) for w, u in zip(init, upper)], dtype=torch.get_default_dtype())
        self.tied = tied
        if tied:
            half = len(init) // 2
            if len(init) % 2 or len(set(logits[:half].tolist())) != 1 or len(set(logits[half:].tolist())) != 1:
                raise ValueError("tied weights need equal initial weights within each loss")
            logits = logits[[0, half]]
        self.logits = nn.Parameter(logits)

    def forward(self) -> torch.Tensor:
        logits = self.logits.repeat_interleave(len(self.upper) // 2) if self.tied else self.logits
        return self.upper * torch.sigmoid(logits)


def structure_loss(out: "InpaintOutput", target: torch.Tensor) -> torch.Tensor:
    """L1 between each predicted structure map and the target's edge map at its resolution."""
    if not out.structures:
        return target.new_zeros(())
    edges = edge_map(target)
    total = target.new_zeros(())
    for s in out.structures:
        t = edges if s.shape[-1] == edges.shape[-1] else F.adaptive_avg_pool2d(edges, s.shape[-2:])
        total = total + (s - t).abs().mean()
    return total
