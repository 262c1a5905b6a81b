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

.. math:: \lambda_{grad}\,s\,\lVert \mathrm{PGN} - \nabla_{\hat y}\mathrm{VGG}\rVert_2^2
          + \lambda_{VGG}\,\mathrm{VGG}(P, y) + \lambda_{L1}\lVert P - y\rVert_1 .

The paper leaves the scale :math:`s` of the gradient term out; the official code multiplies the
per-pixel mean squared error by :math:`2^{26}`, at 256x256. Every gradient here is *per image*
(the gradient of that image's own loss, independent of the batch size), so its per-pixel size
scales as :math:`1/(HW)`; :func:`gradient_scale` keeps the code's balance of the three terms at
any resolution: :math:`s = 2^{26}\,(HW/256^2)^2 / (CHW)` on the per-image sum of squares.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn

from repro.zoo import pretrained_model
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
    pretrained=True, pool="avg", normalize=False)``; with ``layers=None`` any module returning a
    list of activations, e.g. the AvgPool AlexNet of the smaller-network baseline (:func:`alexnet_loss`).

    ``forward`` is the batch mean; :meth:`per_image` the loss of each image; :meth:`gradient` the
    gradient of each image's own loss (what a PGN predicts: independent of the batch size).
    """

    def __init__(self, vgg: nn.Module, layers: "tuple | None" = PERCEPTUAL_LAYERS) -> None:
        super().__init__()
        self.vgg, self.layers = vgg, None if layers is None else list(layers)

    def features(self, x: torch.Tensor) -> list:
        return self.vgg(x) if self.layers is None else self.vgg(x, self.layers)

    def per_image(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.features(y)
        return sum((a - b).abs().flatten(1).mean(1) for a, b in zip(self.features(y_hat), target))

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.per_image(y_hat, y).mean()

    def value_and_gradient(self, y_hat: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Per-image losses and the true :math:`\nabla_{\hat y}\mathrm{VGG}(\hat y_i, y_i)` (one forward-backward)."""
        with torch.enable_grad():
            x = y_hat.detach().requires_grad_(True)
            values = self.per_image(x, y)
            return values.detach(), torch.autograd.grad(values.sum(), x)[0]

    def gradient(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.value_and_gradient(y_hat, y)[1]


def vgg_loss() -> PerceptualLoss:
    """The paper's perceptual loss on the genuine VGG-16 (AvgPool, relu1_1 ... relu5_1); the frozen
    network is the zoo's shared copy (:func:`repro.zoo.pretrained_model`)."""
    return PerceptualLoss(pretrained_model("vgg16_features", pool="avg", normalize=False))


def alexnet_loss() -> PerceptualLoss:
    """The smaller-network baseline (the paper's VGG-11 is not offline): the same construction on the
    genuine AlexNet (MaxPool -> AvgPool, L1 over its five ReLU outputs)."""
    return PerceptualLoss(pretrained_model("alexnet_features", pool="avg", normalize=False), layers=None)


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
    def effective_alpha(self) -> float:
        r"""The gradient multiplier :math:`\alpha` in use: ``alpha``, or the mode's default (1/512 direct, 40 otherwise)."""
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

    def example_inputs(self, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, 3, 32, 32), torch.randn(n, 3, 32, 32)

    def synthetic_gradient(self, y_hat: torch.Tensor, out: torch.Tensor, proxy: "torch.Tensor | None") -> torch.Tensor:
        r"""The gradient the PGN hands the generator, from the backbone's output: :math:`\alpha\,\mathrm{out}`
        in direct mode, else :math:`\alpha \frac{2}{CHW} (\hat y - P)`, the gradient of
        :math:`\alpha \lVert \hat y - P \rVert^2 / CHW` with the proxy :math:`P` held fixed."""
        if proxy is None:
            return self.cfg.effective_alpha * out
        return self.cfg.effective_alpha * 2 / y_hat[0].numel() * (y_hat - proxy)

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, "torch.Tensor | None"]:
        out = self.backbone(torch.cat([y_hat, y], 1))
        proxy = self.proxy(y_hat, out)
        return self.synthetic_gradient(y_hat, out, None if proxy is None else proxy.detach()), proxy


def gradient_scale(shape: "torch.Size | tuple") -> float:
    """:math:`s` of the meta-loss's gradient term for images of ``shape`` (..., C, H, W): the official
    code's :math:`2^{26}` on the per-pixel mean at 256x256, kept resolution-independent."""
    c, h, w = shape[-3:]
    return 2.0**26 * (h * w / 256**2) ** 2 / (c * h * w)


def meta_step(pgn: PGN, perceptual: PerceptualLoss, y_hat: torch.Tensor, y: torch.Tensor,
              true_gradient: "torch.Tensor | None" = None) -> tuple[torch.Tensor, dict, torch.Tensor]:
    """Eq. 10 for a batch and the PGN's synthetic gradient (detached; what the generators get).

    The gradient term is :func:`gradient_scale` times the per-image sum of squares, averaged over
    the batch; the proxy is differentiated through for the VGG and L1 terms (no stop-gradient
    here: the meta-loss trains the backbone). Returns ``(loss, parts, gradient)``.
    """
    cfg = pgn.cfg
    target = perceptual.gradient(y_hat, y) if true_gradient is None else true_gradient
    out = pgn.backbone(torch.cat([y_hat, y], 1))
    proxy = pgn.proxy(y_hat, out)
    predicted = pgn.synthetic_gradient(y_hat, out, proxy)  # through the proxy: the meta-loss trains it
    parts = {"grad": gradient_scale(y_hat.shape) * (predicted - target).pow(2).flatten(1).sum(1).mean()}
    if proxy is not None:
        parts["vgg"] = perceptual(proxy, y)
        parts["l1"] = (proxy - y).abs().mean()
    loss = cfg.lambda_grad * parts["grad"] + cfg.lambda_vgg * parts.get("vgg", 0.0) + cfg.lambda_l1 * parts.get("l1", 0.0)
    return loss, {k: float(v.detach()) for k, v in parts.items()}, predicted.detach()


def meta_loss(pgn: PGN, perceptual: PerceptualLoss, y_hat: torch.Tensor, y: torch.Tensor,
              true_gradient: "torch.Tensor | None" = None) -> tuple[torch.Tensor, dict]:
    """Eq. 10 for a batch: ``(loss, parts)`` of :func:`meta_step`."""
    loss, parts, _ = meta_step(pgn, perceptual, y_hat, y, true_gradient)
    return loss, parts


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image cosine similarity of two gradient fields (PGN Table 4)."""
    return nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)
