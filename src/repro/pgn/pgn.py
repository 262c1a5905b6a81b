r"""Perceptual gradient networks (Nikulin et al., Eqs. 1-10).

Images live in ImageNet-normalised space (the VGG's input space). The perceptual loss is the
paper's construction on VGG-16 (no VGG-19 offline): MaxPool replaced by AvgPool, the L1 distances
(means) between the activations after every ReLU up to ``relu5_1``, summed over layers:

.. math:: \mathrm{VGG}(\hat y, y) = \sum_l \lVert\phi_l(\hat y) - \phi_l(y)\rVert_1 .

A PGN turns the output of a backbone :math:`\mathcal B(\hat y, y)` (6 channels in, 3 out) into an
approximation of :math:`\nabla_{\hat y}\mathrm{VGG}(\hat y, y)` in one of four ways:

``direct`` (Eq. 2)
    :math:`\mathrm{PGN} = \alpha\,\mathcal B`, :math:`\alpha = 1/512`;
``proxy`` (Eqs. 3-5)
    :math:`P = \mathcal B`, :math:`\mathrm{PGN} = \alpha\nabla_{\hat y}\mathrm{MSE}(\hat y, sg[P])
    = \alpha\,\frac{2}{CHW}(\hat y - P)`, :math:`\alpha = 40`;
``constrained`` (Eqs. 6-7)
    :math:`P = \beta\, f(\mathcal B)` with :math:`f` = sigmoid then ImageNet normalisation,
    :math:`\beta = 1.1`, :math:`\alpha = 40`;
``hybrid`` (Eqs. 8-9)
    :math:`P = \beta\, f(\hat y - \gamma\,\mathcal B)`, :math:`\gamma = 1/512`.

Here :math:`f(z) = (\sigma(z) - \mu)/s` (sigmoid, then ImageNet normalisation) and the proxy is
:math:`\beta f(\cdot)`, as in Eq. 6 and the official code: the normalised range is widened by 10 %
so that pure black and white stay reachable. The MSE of Eqs. 4-9 is per image (mean over C, H, W).

The meta-loss (Eq. 10), :math:`\lambda_{grad} = 1`, :math:`\lambda_{VGG} = 0.5`, :math:`\lambda_{L1} = 0.2`:

.. math:: \lambda_{grad}\lVert \mathrm{PGN} - \nabla_{\hat y}\mathrm{VGG}\rVert_2^2
          + \lambda_{VGG}\,\mathrm{VGG}(P, y) + \lambda_{L1}\lVert P - y\rVert_1 .
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn

from repro.zoo.vgg import IMAGENET_MEAN, IMAGENET_STD, layer_names

MODES = ("direct", "proxy", "constrained", "hybrid")
#: ReLU outputs of the perceptual loss: relu1_1 ... relu5_1.
PERCEPTUAL_LAYERS = tuple(layer_names("relu5_1", "relu"))


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return mean, std


def normalize(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB -> ImageNet-normalised."""
    mean, std = _stats(images)
    return (images - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    mean, std = _stats(x)
    return x * std + mean


class PerceptualLoss(nn.Module):
    """VGG(y_hat, y) on ImageNet-normalised images; ``vgg`` = ``create_model("vgg16_features",
    pretrained=True, pool="avg", normalize=False)``."""

    def __init__(self, vgg: nn.Module, layers: tuple = PERCEPTUAL_LAYERS) -> None:
        super().__init__()
        self.vgg, self.layers = vgg, list(layers)

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.vgg(y, self.layers)
        return sum((a - b).abs().mean() for a, b in zip(self.vgg(y_hat, self.layers), target))

    def gradient(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The true :math:`\\nabla_{\\hat y}\\mathrm{VGG}(\\hat y, y)` (one forward-backward)."""
        with torch.enable_grad():
            x = y_hat.detach().requires_grad_(True)
            return torch.autograd.grad(self(x, y), x)[0]


@dataclasses.dataclass(frozen=True)
class PGNConfig:
    mode: str = "constrained"
    alpha: "float | None" = None  # default: 1/512 for direct, 40 otherwise
    beta: float = 1.1
    gamma: float = 1 / 512
    lambda_grad: float = 1.0
    lambda_vgg: float = 0.5
    lambda_l1: float = 0.2

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown PGN mode {self.mode!r}; valid: {', '.join(MODES)}")

    @property
    def scale(self) -> float:
        return self.alpha if self.alpha is not None else (1 / 512 if self.mode == "direct" else 40.0)


class PGN(nn.Module):
    """A backbone plus the way its output becomes a gradient; ``forward`` returns ``(gradient, proxy)``
    (``proxy`` is ``None`` in ``direct`` mode)."""

    def __init__(self, backbone: nn.Module, cfg: PGNConfig = PGNConfig()) -> None:
        super().__init__()
        self.backbone, self.cfg = backbone, cfg

    def proxy(self, y_hat: torch.Tensor, out: torch.Tensor) -> "torch.Tensor | None":
        cfg = self.cfg
        if cfg.mode == "direct":
            return None
        if cfg.mode == "proxy":
            return out
        z = out if cfg.mode == "constrained" else y_hat - cfg.gamma * out
        return cfg.beta * normalize(torch.sigmoid(z))

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, "torch.Tensor | None"]:
        out = self.backbone(torch.cat([y_hat, y], 1))
        proxy = self.proxy(y_hat, out)
        if proxy is None:
            return self.cfg.scale * out, None
        chw = y_hat[0].numel()
        return self.cfg.scale * 2 / chw * (y_hat - proxy.detach()), proxy


def meta_loss(pgn: PGN, perceptual: PerceptualLoss, y_hat: torch.Tensor, y: torch.Tensor,
              true_gradient: "torch.Tensor | None" = None) -> tuple[torch.Tensor, dict]:
    """Eq. 10 for a batch (the gradient term: squared error summed per image, mean over the batch;
    the proxy is differentiated through for the VGG and L1 terms). Returns the loss and its parts."""
    cfg = pgn.cfg
    target = perceptual.gradient(y_hat, y) if true_gradient is None else true_gradient
    out = pgn.backbone(torch.cat([y_hat, y], 1))
    proxy = pgn.proxy(y_hat, out)
    if proxy is None:
        predicted = cfg.scale * out
    else:  # the gradient through the proxy (no stop-gradient here: the meta-loss trains the backbone)
        predicted = cfg.scale * 2 / y_hat[0].numel() * (y_hat - proxy)
    parts = {"grad": (predicted - target).pow(2).flatten(1).sum(1).mean()}
    if proxy is not None:
        parts["vgg"] = perceptual(proxy, y)
        parts["l1"] = (proxy - y).abs().mean()
    loss = cfg.lambda_grad * parts["grad"] + cfg.lambda_vgg * parts.get("vgg", 0.0) + cfg.lambda_l1 * parts.get("l1", 0.0)
    return loss, {k: float(v.detach()) for k, v in parts.items()}


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image cosine similarity of two gradient fields (PGN Table 4)."""
    return nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)
