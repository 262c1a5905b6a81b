r"""MTAdam: Adam for several loss terms (Malkiel & Wolf, Algorithm 1).

Each loss term :math:`f_n` (:math:`n = 1 \dots N`, term 1 the *anchor*, i.e. the main loss) gets
its own Adam moments. Before they are updated, the term's gradient in every layer :math:`l` is
rescaled so that its running magnitude equals the anchor's:

.. math::
    a^l_n &\leftarrow \beta_3 a^l_n + (1 - \beta_3)\,\lVert g^l_n \rVert_2
        && \text{(line 7: magnitude EMA per layer and term)} \\
    g^l_n &\leftarrow r_n \frac{a^l_1}{a^l_n}\, g^l_n
        && \text{(line 8: balance to the anchor; } r_n \text{ optional ranks)} \\
    m_n &\leftarrow \beta_1 m_n + (1-\beta_1) g_n, \quad
    v_n \leftarrow \beta_2 v_n + (1-\beta_2) g_n^2 && \text{(lines 9–10)} \\
    \theta &\leftarrow \theta - \alpha \frac{\sum_n m_n / (1 - \beta_1^t)}
        {\max_n \sqrt{v_n / (1 - \beta_2^t)} + \epsilon}
        && \text{(lines 11–15: summed steps over the largest uncertainty)}

Paper vs official code (the paper is the default; the code's choices are options):

================================  =========================  ==============================
aspect                            paper (default)            official code (option)
================================  =========================  ==============================
balancing unit                    a layer (``scope="layer"``) a parameter tensor (``"tensor"``)
magnitude EMA start               :math:`a = 0`              set to the first norm (``"first"``)
weight decay                      none (optional, once)      added to every term's gradient
================================  =========================  ==============================

Both pick as anchor the first term whose magnitude is non-zero in that layer (the paper's term 1
in practice): a main loss that does not reach a layer (or vanishes) then does not silence the
others there, and a term with zero magnitude contributes nothing instead of a NaN. State lives
in ``self.state`` (per-term moments stacked as (N, …) tensors, magnitudes per layer), so
``state_dict()`` round-trips; the official code keeps its balancing state on Parameter
attributes and loses it on resume.

The ablations of the paper's Table 5 are the options ``normalize``, ``scope``, ``anchor_scale``
and ``denominator`` (see :data:`ABLATIONS`).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
import torch.nn as nn
from torch.optim import Optimizer

_TINY = 1e-12

#: Table 5 of the paper: variants (i)–(v) as MTAdam options.
ABLATIONS: dict[str, dict] = {
    "(i) no balancing (lines 6-8 removed)": dict(normalize=False),
    "(ii) one magnitude for the whole model": dict(scope="model"),
    "(iii) no scaling by the anchor magnitude": dict(anchor_scale=False),
    "(iv) Adam-like denominator per term": dict(denominator="own"),
    "(v) mean instead of max denominator": dict(denominator="mean"),
    "full method": dict(),
}


def layer_param_groups(module: nn.Module) -> list[dict]:
    """One param group per layer: every sub-module that owns parameters directly."""
    groups = []
    for name, sub in module.named_modules():
        params = [p for p in sub.parameters(recurse=False) if p.requires_grad]
        if params:
            groups.append({"params": params, "layer": name or type(module).__name__})
    return groups


class MTAdam(Optimizer):
    r"""Multi-term Adam. ``opt.step(losses)`` takes the separate loss terms, anchor first.

    Args:
        params: a module (each sub-module with parameters becomes one layer), or parameters /
            param groups (with ``scope="layer"`` every param group is one layer).
        lr: :math:`\alpha`. betas: :math:`(\beta_1, \beta_2, \beta_3)`. eps: :math:`\epsilon`.
        weight_decay: L2 coefficient, added once to the anchor's gradient (paper: 0).
        weight_decay_per_term: add it to every term's gradient instead (official code).
        scope: balancing unit, ``"layer"`` (paper), ``"tensor"`` (official code) or ``"model"``
            (Table 5 (ii)).
        magnitude_init: ``"zero"`` (paper: EMA from 0) or ``"first"`` (code: first norm).
        normalize: rescale terms at all (False = Table 5 (i)).
        anchor_scale: scale to the anchor's magnitude (False = Table 5 (iii): unit magnitude).
        denominator: ``"max"`` (paper), ``"own"`` (Table 5 (iv), Adam per term) or ``"mean"``
            (Table 5 (v)).

    Algorithm::

        input: terms f_1..f_N (f_1 = anchor), lr, betas, eps
        init:  m_n, v_n = 0 per parameter; a_n = 0 per layer; t = 0
        step:  t += 1; g_n = grad f_n (one backward per term)
               per layer: a_n = b3 a_n + (1 - b3) |g_n|; g_n *= r_n a_anchor / a_n
               m_n = b1 m_n + (1 - b1) g_n; v_n = b2 v_n + (1 - b2) g_n^2
               theta -= lr / (1 - b1^t) * sum_n m_n / (max_n sqrt(v_n / (1 - b2^t)) + eps)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float, float] = (0.9, 0.999, 0.9),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        weight_decay_per_term: bool = False,
        scope: str = "layer",
        magnitude_init: str = "zero",
        normalize: bool = True,
        anchor_scale: bool = True,
        denominator: str = "max",
    ) -> None:
        if not lr > 0:
            raise ValueError(f"invalid learning rate {lr!r}: must be > 0")
        if len(betas) != 3 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"invalid betas {betas!r}: need three values in [0, 1) (beta1, beta2, beta3)")
        if not eps > 0:
            raise ValueError(f"invalid eps {eps!r}: must be > 0")
        if weight_decay < 0:
            raise ValueError(f"invalid weight_decay {weight_decay!r}: must be >= 0")
        for name, value, valid in (
            ("scope", scope, ("layer", "tensor", "model")),
            ("magnitude_init", magnitude_init, ("zero", "first")),
            ("denominator", denominator, ("max", "own", "mean")),
        ):
            if value not in valid:
                raise ValueError(f"invalid {name} {value!r}: valid values are {', '.join(valid)}")
        if isinstance(params, nn.Module):
            params = layer_param_groups(params)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)
        self.options = dict(
            weight_decay_per_term=weight_decay_per_term, scope=scope, magnitude_init=magnitude_init,
            normalize=normalize, anchor_scale=anchor_scale, denominator=denominator,
        )

    # -- gradients ----------------------------------------------------------------------------
    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"] if p.requires_grad]

    def term_gradients(self, losses: Sequence[torch.Tensor], retain_graph: bool = False) -> list[list["torch.Tensor | None"]]:
        """One backward per term: ``grads[n][i]`` is term n's gradient of parameter i (None if unused)."""
        params = self._params()
        grads = []
        for n, loss in enumerate(losses):
            if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
                raise ValueError(f"loss term {n} must be a scalar tensor, got {type(loss).__name__} {getattr(loss, 'shape', '')}")
            if not loss.requires_grad:
                grads.append([None] * len(params))
                continue
            keep = retain_graph or n < len(losses) - 1
            grads.append(list(torch.autograd.grad(loss, params, retain_graph=keep, allow_unused=True)))
        return grads

    # -- the step -----------------------------------------------------------------------------
    def step(self, losses: Sequence[torch.Tensor], ranks: "Sequence[float] | None" = None, retain_graph: bool = False):
        """Compute each term's gradient (N backward passes) and update the parameters.

        ``losses``: the loss terms, anchor (main loss) first. ``ranks``: optional per-term
        multipliers :math:`r_n` (official code; default 1). Returns the sum of the terms.
        """
        losses = list(losses)
        if not losses:
            raise ValueError("MTAdam.step needs at least one loss term")
        state0 = self.state[self._params()[0]]
        n_terms = len(losses)
        if "exp_avg" in state0 and state0["exp_avg"].shape[0] != n_terms:
            raise ValueError(f"MTAdam was stepped with {state0['exp_avg'].shape[0]} terms before, now {n_terms}")
        ranks_t = torch.ones(n_terms) if ranks is None else torch.as_tensor(ranks, dtype=torch.float32)
        if ranks_t.shape != (n_terms,):
            raise ValueError(f"ranks must have one value per loss term ({n_terms}), got {tuple(ranks_t.shape)}")
        grads = self.term_gradients(losses, retain_graph)
        with torch.no_grad():
            self._update(grads, ranks_t)
        return sum(loss.detach() for loss in losses)

    def _layers(self) -> list[list[int]]:
        """Indices (into self._params()) of each balancing unit."""
        scope = self.options["scope"]
        indices, layers, i = [], [], 0
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                if p.requires_grad:
                    ids.append(i)
                    i += 1
            layers.append(ids)
            indices.extend(ids)
        if scope == "tensor":
            return [[j] for j in indices]
        if scope == "model":
            return [indices]
        return [ids for ids in layers if ids]

    def _update(self, grads: list[list["torch.Tensor | None"]], ranks: torch.Tensor) -> None:
        opts = self.options
        params = self._params()
        n_terms = len(grads)
        group_of = {id(p): g for g in self.param_groups for p in g["params"]}
        stacked = []
        for i, p in enumerate(params):
            terms = [g[i] if g[i] is not None else torch.zeros_like(p) for g in grads]
            stacked.append(torch.stack(terms))  # (N, *p.shape)
        for i, p in enumerate(params):
            group = group_of[id(p)]
            if group["weight_decay"]:
                if opts["weight_decay_per_term"]:
                    stacked[i].add_(p.unsqueeze(0), alpha=group["weight_decay"])
                else:
                    stacked[i][0].add_(p, alpha=group["weight_decay"])
        if opts["normalize"]:
            for ids in self._layers():
                self._balance(params, stacked, ids, ranks.to(params[ids[0]].device))
        elif (ranks != 1).any():
            for i in range(len(params)):
                stacked[i].mul_(ranks.to(stacked[i].device).view(-1, *[1] * (stacked[i].ndim - 1)))
        for i, p in enumerate(params):
            self._adam_update(p, stacked[i], group_of[id(p)], n_terms)

    def _balance(self, params, stacked, ids: list[int], ranks: torch.Tensor) -> None:
        """Lines 6–8 for one balancing unit (layer, tensor or model)."""
        beta3 = self.param_groups[0]["betas"][2]
        state = self.state[params[ids[0]]]  # the unit's magnitudes live with its first tensor
        # |g_n| over the unit: sqrt of the summed squared norms of its tensors, per term.
        norms = torch.stack([stacked[i].flatten(1).pow(2).sum(1) for i in ids]).sum(0).sqrt()
        if "magnitude" not in state and self.options["magnitude_init"] == "first":
            state["magnitude"] = norms.clone()  # official code: the EMA starts at the first norm
        else:
            state.setdefault("magnitude", torch.zeros_like(norms)).mul_(beta3).add_(norms, alpha=1 - beta3)
        magnitude = state["magnitude"]
        alive = magnitude > _TINY
        if self.options["anchor_scale"]:
            anchor = magnitude[alive][0] if alive.any() else magnitude.new_zeros(())
        else:
            anchor = magnitude.new_ones(())
        scale = torch.where(alive, anchor / magnitude.clamp_min(_TINY), torch.zeros_like(magnitude)) * ranks
        for i in ids:
            stacked[i].mul_(scale.view(-1, *[1] * (stacked[i].ndim - 1)))

    def _adam_update(self, p: torch.Tensor, g: torch.Tensor, group: dict, n_terms: int) -> None:
        """Lines 9–15 for one parameter tensor; ``g`` holds its N balanced gradients."""
        beta1, beta2, _ = group["betas"]
        state = self.state[p]
        if "exp_avg" not in state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros((n_terms, *p.shape), dtype=p.dtype, device=p.device)
            state["exp_avg_sq"] = torch.zeros((n_terms, *p.shape), dtype=p.dtype, device=p.device)
        state["step"] += 1
        t = float(state["step"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        bias1, bias2 = 1 - beta1**t, 1 - beta2**t
        denominator = self.options["denominator"]
        if denominator == "own":
            update = (m / ((v / bias2).sqrt() + group["eps"])).sum(0)
        elif denominator == "mean":
            update = m.sum(0) / ((v / bias2).sqrt().mean(0) + group["eps"])
        else:
            update = m.sum(0) / ((v.amax(0) / bias2).sqrt() + group["eps"])
        p.add_(update, alpha=-group["lr"] / bias1)
