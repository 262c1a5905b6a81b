r"""The loss-reweighting competitors of AWA's Table III, behind AWA's interface.

Every method is a :class:`repro.awa.weighting.LossWeighting`: ``weights()`` (the six auxiliary
weights now) and ``update(objective, batch, guide_batch, main, aux)`` (called once per training
step with that step's forward, before the generator's update). Like TPL/TSL's own weights, every method's
weights stay inside :math:`(0, \lambda]` (perceptual 2, style 750).

``Fixed``
    the default weights, never changed (the base models' customary setting).
``AdaLoss`` (Hu et al. 2019)
    :math:`\omega_j = c / \overline{L_j}`, :math:`\overline{L_j}` an exponential moving average
    of term :math:`j` (decay 0.99): each weight is inversely proportional to its term's mean,
    so every term contributes the same :math:`c`; :math:`c` is the mean contribution of the
    default weights at the first step.
``GradNorm`` (Chen et al. 2018), :math:`\alpha = 1.5`
    :math:`\omega_j = \omega^0_j a_j`; the :math:`a_j` minimise
    :math:`\sum_j |G_j - \bar G\, r_j^{\alpha}|` with :math:`G_j = \lVert\nabla_W \omega_j L_j\rVert`
    on the last layer :math:`W`, :math:`\bar G` the mean norm (a constant), and
    :math:`r_j = \tilde L_j / \mathrm{mean}(\tilde L)`, :math:`\tilde L_j = L_j(t)/L_j(0)`;
    Adam (lr 0.025), then :math:`\sum_j a_j` is renormalised to the number of terms.
``GradSim`` (Du et al. 2018)
    a term's weight is its default when :math:`\cos(\nabla L_{main}, \nabla L_j) \ge 0`, else 0
    (the sign of the cosine is the sign of the inner product, computed with one JVP).
"""
from __future__ import annotations

import torch

from repro.awa.losses import DEFAULT_WEIGHTS, UPPER_BOUNDS
from repro.awa.objective import InpaintingObjective
from repro.awa.weighting import LossWeighting


class _Weights(LossWeighting):

    def __init__(self, init: tuple = DEFAULT_WEIGHTS, upper: tuple = UPPER_BOUNDS) -> None:
        self.init = torch.tensor(init, dtype=torch.get_default_dtype())
        self.upper = torch.tensor(upper, dtype=torch.get_default_dtype())
        self.w = self.init.clone()

    def weights(self) -> torch.Tensor:
        return self.w

    def to(self, device):
        self.init, self.upper, self.w = self.init.to(device), self.upper.to(device), self.w.to(device)
        return self

    def _set(self, w: torch.Tensor) -> None:
        if torch.isfinite(w).all():
            self.w = torch.minimum(w.clamp_min(0.0), self.upper)


class Fixed(_Weights):
    def update(self, objective, batch, guide_batch, main, aux) -> None:
        pass


class AdaLoss(_Weights):
    def __init__(self, decay: float = 0.99, **kwargs) -> None:
        super().__init__(**kwargs)
        self.decay, self.mean, self.c = decay, None, None

    def update(self, objective, batch, guide_batch, main, aux) -> None:
        values = aux.detach()
        if not torch.isfinite(values).all():
            return
        if self.mean is None:
            self.mean = values.clamp_min(1e-12)
            self.c = float((self.init * values).mean())
        else:
            self.mean = self.decay * self.mean + (1 - self.decay) * values
        self._set(self.c / self.mean.clamp_min(1e-12))


class GradNorm(_Weights):
    def __init__(self, alpha: float = 1.5, lr: float = 0.025, **kwargs) -> None:
        super().__init__(**kwargs)
        self.alpha = alpha
        self.a = torch.ones_like(self.init, requires_grad=True)
        self.optimiser = torch.optim.Adam([self.a], lr=lr)
        self.first = None
        self._view = None

    def to(self, device):
        super().to(device)
        self.a = self.a.detach().to(device).requires_grad_(True)
        self.optimiser = torch.optim.Adam([self.a], lr=self.optimiser.param_groups[0]["lr"])
        return self

    def update(self, objective: InpaintingObjective, batch, guide_batch, main, aux) -> None:
        if self._view is None or self._view.generator is not objective.generator:
            self._view = _last_layer_view(objective)
        grads = self._view.term_gradients(aux)
        norms = torch.stack([torch.sqrt(sum((g ** 2).sum() for g in grad.values())) for grad in grads])
        values = aux.detach()
        if not (torch.isfinite(norms).all() and torch.isfinite(values).all()):
            return
        if self.first is None:
            self.first = values.clamp_min(1e-12)
        ratio = values / self.first
        r = ratio / ratio.mean()
        G = self.init * self.a * norms  # ||grad of w_j L_j||, linear in a_j
        target = (G.mean() * r.pow(self.alpha)).detach()
        loss = (G - target).abs().sum()
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        with torch.no_grad():
            self.a.clamp_(min=1e-3)
            self.a.mul_(len(self.a) / self.a.sum())
        self._set(self.init * self.a.detach())


class GradSim(_Weights):
    def update(self, objective: InpaintingObjective, batch, guide_batch, main, aux) -> None:
        g_main = objective.grad(main)
        d = objective.inner_products(batch, dict(zip(objective.names, objective.params)), g_main, "jvp")
        if torch.isfinite(d).all():
            self._set(torch.where(d >= 0, self.init, torch.zeros_like(self.init)))


def _last_layer_view(objective: InpaintingObjective) -> InpaintingObjective:
    """The same objective restricted to the generator's last layer (GradNorm's shared layer W)."""
    return InpaintingObjective(objective.generator, objective.discriminator, objective.aux, objective.lam, params="last")
