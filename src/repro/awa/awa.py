r"""Auxiliary Weights Adaptation (AWA; Hui et al., Algorithm 1, Eqs. 7-8).

The auxiliary weights :math:`\omega = \lambda \odot \sigma(\phi)` (:class:`~repro.awa.losses.TunableWeights`)
are chosen so that the generator, trained :math:`K` steps with them, does best on a guidance
metric :math:`\mathcal L_c` (LPIPS or MAE on a guidance batch):

.. math::
    \phi^* = \arg\min_\phi \mathcal L_c(\theta^K), \qquad
    \theta^{k+1} = \theta^k - \alpha \nabla_\theta \mathcal L_t(\theta^k; \omega),\ \theta^1 = \theta. \tag{7}

Differentiating through the :math:`K` steps gives
:math:`\nabla_{\omega_j}\mathcal L_c = -\alpha \sum_k \langle \nabla\mathcal L_c(\theta^{K+1}),
\nabla L_j(\theta^k)\rangle` (Appendix, Eqs. A5-A8), which is the gradient of the surrogate

.. math::
    \mathcal L_{sg}(\phi) = -\sum_j \omega_j(\phi)\, d_j, \qquad
    d_j = \sum_{k=1}^{K} \langle \nabla_\theta \mathcal L_c(\theta^{K+1}),\ \nabla_\theta L_j(\theta^k)\rangle \tag{8}

up to the positive factor :math:`\alpha`. One AWA step: the look-ahead (plain SGD at the
generator's learning rate, on the training batch), the guidance gradient
:math:`v = \nabla\mathcal L_c(\theta^{K+1})` on the guidance batch, the inner products
:math:`d_j` (:meth:`~repro.awa.objective.InpaintingObjective.inner_products`: one forward-mode
JVP per look-ahead step, or one backward per term), one AdamW step on :math:`\phi`; then the
caller's ordinary generator step with the new weights.

Choices (``AWAConfig``): ``params`` — gradients over every generator parameter (the paper) or
the last layer (the official code); the auxiliary optimiser's hyperparameters of the paper
(AdamW, lr 1e-3, betas (0.5, 0.999)) or of the official code (betas (0.5, 0.9), weight decay
0.2: the decay pulls the logits to 0, i.e. the weights towards :math:`\lambda/2`). The official
code pastes the look-ahead output into the first batch's hole when computing the guidance (a
bug); here the guidance is computed on the guidance batch's own composite.

A guidance gradient or inner product that is not finite, or is exactly zero, skips the
weight update (the weights are left as they were), so a bad guidance batch never corrupts them.
"""
from __future__ import annotations

import dataclasses

import torch

from repro.awa.losses import DEFAULT_WEIGHTS, UPPER_BOUNDS, TunableWeights, composite
from repro.awa.objective import InpaintingObjective, Params
from repro.awa.weighting import LossWeighting

#: AdamW settings of the auxiliary optimiser: the paper's text and the official code.
AUX_OPTIMISERS = {
    "paper": dict(lr=1e-3, betas=(0.5, 0.999), weight_decay=0.0),
    "code": dict(lr=1e-3, betas=(0.5, 0.9), weight_decay=0.2),
}


@dataclasses.dataclass(frozen=True)
class AWAConfig:
    k: int = 1
    guidance: str = "lpips"
    params: str = "all"
    inner: str = "jvp"
    aux_optimiser: str = "code"
    tied: bool = False  # one weight per loss (AWA on standard PL/SL, Table II exp. 2)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"K must be >= 1, got {self.k}")
        if self.aux_optimiser not in AUX_OPTIMISERS:
            raise ValueError(f"aux_optimiser must be one of {sorted(AUX_OPTIMISERS)}, got {self.aux_optimiser!r}")
        if self.inner not in ("jvp", "backward"):
            raise ValueError(f"inner must be 'jvp' or 'backward', got {self.inner!r}")


class AWA(LossWeighting):
    r"""The AWA reweighting method (see the module docstring).

    ``aux_lr`` overrides the auxiliary optimiser's learning rate. ``guide(fake, real)`` is the
    guidance metric :math:`\mathcal L_c` on [-1, 1] images
    (:func:`~repro.awa.objective.guidance_metric`); ``lr`` is the generator's learning rate
    :math:`\alpha` of the look-ahead.
    """

    needs_guidance = True

    def __init__(self, cfg: AWAConfig, guide, lr: float,
                 init: tuple = DEFAULT_WEIGHTS, upper: tuple = UPPER_BOUNDS, aux_lr: "float | None" = None) -> None:
        self.cfg, self.guide, self.lr = cfg, guide, lr
        self.tunable = TunableWeights(init, upper, tied=cfg.tied)
        settings = dict(AUX_OPTIMISERS[cfg.aux_optimiser])
        if aux_lr is not None:  # short runs: a larger step so the weights can move at all
            settings["lr"] = aux_lr
        self.optimiser = torch.optim.AdamW(self.tunable.parameters(), **settings)
        self.skipped = 0
        self.last_inner: "torch.Tensor | None" = None

    def weights(self) -> torch.Tensor:
        with torch.no_grad():
            return self.tunable()

    def to(self, device) -> "AWA":
        self.tunable.to(device)
        return self

    def generator_lr_changed(self, lr: float) -> None:
        r"""The look-ahead steps (Eq. 7's :math:`\theta'`) use the generator's current learning rate."""
        self.lr = lr

    def update(self, objective: InpaintingObjective, batch: tuple, guide_batch: tuple,
               main: torch.Tensor, aux: torch.Tensor) -> None:
        """One AWA update of the weights, given the step's forward (``main``, ``aux`` with graphs)."""
        d = self.surrogate_inner_products(objective, batch, guide_batch, main, aux)
        self.last_inner = d
        if d is None:
            self.skipped += 1
            return
        loss = -(self.tunable() * d).sum()  # Eq. 8
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()

    def surrogate_inner_products(self, objective: InpaintingObjective, batch: tuple, guide_batch: tuple,
                                 main: torch.Tensor, aux: torch.Tensor) -> "torch.Tensor | None":
        """:math:`d_j` of Eq. 8, or ``None`` when the guidance is unusable (not finite, or zero)."""
        w = self.weights()
        real = dict(zip(objective.names, objective.params))
        thetas: list[Params] = [real]
        graphs = [aux]
        theta = objective.current()
        for k in range(self.cfg.k):
            if k == 0:  # theta^1 = theta: reuse the step's forward
                g = objective.grad(main + (w * aux).sum())
            else:
                leaf = {n: t.detach().requires_grad_(True) for n, t in theta.items()}
                main_k, aux_k, _ = objective.losses(batch, leaf)
                per_term = self.cfg.inner == "backward"  # only then are the look-ahead graphs used again
                g = objective.grad(main_k + (w * aux_k).sum(), leaf, retain_graph=per_term)
                thetas.append(leaf)
                graphs.append(aux_k if per_term else None)
            theta = {n: theta[n] - self.lr * g[n].detach() for n in theta}
        target, mask = guide_batch
        look = {n: t.detach().requires_grad_(True) for n, t in theta.items()}
        _, _, fake = objective.losses(guide_batch, look)
        v = objective.grad(self.guide(composite(fake, target, mask), target), look, retain_graph=False)
        if not all(torch.isfinite(t).all() for t in v.values()) or all(not t.any() for t in v.values()):
            return None
        d = sum(objective.inner_products(batch, params, v, self.cfg.inner, graph=graph)
                for params, graph in zip(thetas, graphs))
        if not torch.isfinite(d).all() or not d.any():
            return None
        return d
