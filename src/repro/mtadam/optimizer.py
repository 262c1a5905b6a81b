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
in ``self.state`` (per-term moments stacked as (N, …) tensors, magnitudes per layer) and every
option is a param-group default (like ``lr`` and ``betas``; ``beta3`` and the balancing options are
read per group), so ``state_dict()`` round-trips state and options; the official code keeps its
balancing state on Parameter attributes and loses it on resume.

The ablations of the paper's Table 5 are the options ``normalize``, ``scope``, ``anchor_scale``
and ``denominator`` (see :data:`ABLATIONS`).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from torch.optim import Optimizer

_TINY = 1e-12

#: Where the paper's Algorithm 1 and the official code differ, and what this class does.
PAPER_VS_CODE: tuple[dict, ...] = (
    {"aspect": "balancing unit", "paper": "a layer", "official code": "a parameter tensor",
     "here": "scope='layer' (default) | 'tensor'"},
    {"aspect": "magnitude EMA start", "paper": "a = 0", "official code": "first norm",
     "here": "magnitude_init='zero' (default) | 'first'"},
    {"aspect": "weight decay", "paper": "none", "official code": "added to every term",
     "here": "weight_decay once (default) | weight_decay_per_term=True"},
    {"aspect": "anchor", "paper": "term 1", "official code": "first term with norm > 1e-10",
     "here": "first term with non-zero magnitude, per layer"},
    {"aspect": "balancing state", "paper": "-", "official code": "Parameter attributes (lost on resume)",
     "here": "optimizer state (state_dict round-trips)"},
    {"aspect": "term missing a parameter / zero term", "paper": "-", "official code": "breaks the loop / NaN",
     "here": "contributes nothing"},
)

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
        # Every option is a param-group default, so state_dict() carries it and load_state_dict()
        # restores it (torch.optim.Optimizer's param_groups round-trip).
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        weight_decay_per_term=weight_decay_per_term, scope=scope, magnitude_init=magnitude_init,
                        normalize=normalize, anchor_scale=anchor_scale, denominator=denominator)
        super().__init__(params, defaults)
        self._scratch: dict[torch.Tensor, tuple[torch.Tensor, torch.Tensor]] = {}
        self._check_groups()

    #: Options that act on a balancing unit; with ``scope="model"`` one unit spans every group.
    BALANCING = ("scope", "normalize", "anchor_scale", "magnitude_init")

    def _check_groups(self) -> None:
        """The scope is one for the whole model; with ``scope="model"`` so is every balancing option."""
        first = self.param_groups[0]
        keys = self.BALANCING if first["scope"] == "model" else ("scope",)
        for group in self.param_groups[1:]:
            for key in keys:
                if group[key] != first[key]:
                    raise ValueError(f"MTAdam param groups disagree on {key!r} ({first[key]!r} vs {group[key]!r}); "
                                     f"it must be the same in every group{' with scope=model' if key != 'scope' else ''}")
            if first["scope"] == "model" and group["betas"][2] != first["betas"][2]:
                raise ValueError("MTAdam param groups disagree on beta3; with scope='model' it must be the same")

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state *and* options (they live in the param groups); options differing from
        this optimizer's are taken from the state dict, as torch does for ``lr`` and ``betas``."""
        super().load_state_dict(state_dict)
        self._check_groups()

    @property
    def options(self) -> dict:
        """The MTAdam-specific options of the first param group (the only group in most uses)."""
        group = self.param_groups[0]
        return {k: group[k] for k in ("weight_decay_per_term", *self.BALANCING, "denominator")}

    # -- the step -----------------------------------------------------------------------------
    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"] if p.requires_grad]

    def _group_ranges(self) -> list[tuple[dict, range]]:
        """Each param group with the indices of its trainable tensors in ``self._params()``."""
        out, start = [], 0
        for group in self.param_groups:
            count = sum(1 for p in group["params"] if p.requires_grad)
            out.append((group, range(start, start + count)))
            start += count
        return out

    def _units(self) -> list[tuple[dict, list[int]]]:
        """Each balancing unit (layer, tensor or model) with the group whose options it follows
        and its indices into ``self._params()``."""
        layers = [(group, list(ids)) for group, ids in self._group_ranges() if ids]
        scope = self.param_groups[0]["scope"]
        if scope == "tensor":
            return [(group, [j]) for group, ids in layers for j in ids]
        if scope == "model":
            return [(layers[0][0], [j for _, ids in layers for j in ids])] if layers else []
        return layers

    def step(self, losses: Sequence[torch.Tensor], ranks: "Sequence[float] | None" = None, retain_graph: bool = False):
        """Compute each term's gradient (N backward passes) and update the parameters.

        ``losses``: the loss terms, anchor (main loss) first. ``ranks``: optional per-term
        multipliers :math:`r_n` (official code; default 1). Returns the sum of the terms.
        """
        losses = list(losses)
        if not losses:
            raise ValueError("MTAdam.step needs at least one loss term")
        if ranks is not None and len(ranks) != len(losses):
            raise ValueError(f"ranks must have one value per loss term ({len(losses)}), got {len(ranks)}")
        for n, loss in enumerate(losses):
            if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
                raise ValueError(f"loss term {n} must be a scalar tensor, got {type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
        params = self._params()
        wanted = [n for n, loss in enumerate(losses) if loss.requires_grad]

        def term_gradients():
            for n, loss in enumerate(losses):
                if not loss.requires_grad:
                    yield [None] * len(params)
                    continue
                keep = retain_graph or n < wanted[-1]
                yield list(torch.autograd.grad(loss, params, retain_graph=keep, allow_unused=True))

        self.apply_gradients(term_gradients(), n_terms=len(losses), ranks=ranks)
        return sum(loss.detach() for loss in losses)

    def apply_gradients(self, term_gradients, n_terms: int, ranks: "Sequence[float] | None" = None) -> None:
        """The update from per-term gradients: ``term_gradients`` yields, term by term (anchor
        first), a list with one gradient (or None) per parameter. :meth:`step` feeds it from one
        backward per term; a caller that has the gradients already can call it directly.

        Each term is folded into the moments as soon as it arrives, so only one term's
        gradients are alive at once (O(P) extra memory, not O(NP)). This is exact: a unit's
        anchor is the first term with non-zero magnitude, which has always arrived already.
        The gradient tensors are scaled in place.
        """
        ranks = [1.0] * n_terms if ranks is None else [float(r) for r in ranks]
        if len(ranks) != n_terms:
            raise ValueError(f"ranks must have one value per loss term ({n_terms}), got {len(ranks)}")
        params = self._params()
        if not params:
            raise ValueError("MTAdam has no parameter that requires a gradient")
        self._init_state(params, n_terms)
        units = self._units()
        anchors: list["float | None"] = [None] * len(units)  # anchor magnitude per unit, once known
        count = 0
        for n, raw in enumerate(term_gradients):
            with torch.no_grad():
                grads = [g if g is not None else torch.zeros_like(p) for g, p in zip(raw, params)]
                del raw
                self._weight_decay(params, grads, n)
                scales = self._balance(params, grads, units, anchors, n, ranks[n])
                self._moments(params, grads, scales, n)
            count += 1
        if count != n_terms:
            raise ValueError(f"got gradients for {count} terms, expected {n_terms}")
        with torch.no_grad():
            for group, ids in self._group_ranges():
                for i in ids:
                    self._apply(params[i], group)

    def _init_state(self, params: list[torch.Tensor], n_terms: int) -> None:
        for p in params:
            state = self.state[p]
            if "exp_avg" not in state:
                state["step"] = torch.zeros((), dtype=torch.float32)
                state["exp_avg"] = torch.zeros((n_terms, *p.shape), dtype=p.dtype, device=p.device)
                state["exp_avg_sq"] = torch.zeros((n_terms, *p.shape), dtype=p.dtype, device=p.device)
            elif state["exp_avg"].shape[0] != n_terms:
                raise ValueError(f"MTAdam was stepped with {state['exp_avg'].shape[0]} terms before, now {n_terms}")
            state["step"] += 1

    def _weight_decay(self, params: list[torch.Tensor], grads: list[torch.Tensor], n: int) -> None:
        """Once on the anchor's gradient (default), or on every term's (official code)."""
        for group, ids in self._group_ranges():
            if n > 0 and not group["weight_decay_per_term"]:
                continue
            if group["weight_decay"] and ids:
                sl = slice(ids.start, ids.stop)
                torch._foreach_add_(grads[sl], params[sl], alpha=group["weight_decay"])

    def _balance(self, params, grads, units, anchors, n: int, rank: float) -> list[float]:
        """Lines 6-8 for term n: update its magnitude EMA per unit, return one scale per tensor.

        Each unit follows its own group's options and beta3 (one group per unit but for scope='model')."""
        squared = [x * x for x in torch.stack(torch._foreach_norm(grads)).tolist()]
        scales = [0.0] * len(params)
        for u, (group, ids) in enumerate(units):
            if not group["normalize"]:
                for i in ids:
                    scales[i] = rank
                continue
            beta3 = group["betas"][2]
            state = self.state[params[ids[0]]]  # the unit's magnitudes live with its first tensor
            if "magnitude" not in state:
                state["magnitude"] = torch.zeros(len(state["exp_avg"]), dtype=params[0].dtype)
            norm = sum(squared[i] for i in ids) ** 0.5
            old = float(state["magnitude"][n])
            if group["magnitude_init"] == "first" and float(state["step"]) == 1:
                new = norm  # official code: the EMA starts at the first norm
            else:
                new = beta3 * old + (1 - beta3) * norm
            state["magnitude"][n] = new
            new = float(state["magnitude"][n])  # in the stored dtype, as a resumed run will see it
            if new <= _TINY:
                continue  # a term with no magnitude here contributes nothing (no NaN)
            if anchors[u] is None:
                anchors[u] = new  # the first term alive in this unit is its anchor
            scale = rank * (anchors[u] / new if group["anchor_scale"] else 1.0 / new)
            for i in ids:
                scales[i] = scale
        return scales

    def _moments(self, params, grads, scales: list[float], n: int) -> None:
        """Lines 9-10 for term n: m_n <- b1 m_n + (1-b1) s g_n; v_n <- b2 v_n + (1-b2) (s g_n)^2."""
        for group, ids in self._group_ranges():
            if not ids:
                continue
            beta1, beta2, _ = group["betas"]
            g = [grads[i] for i in ids]
            torch._foreach_mul_(g, [scales[i] for i in ids])  # fresh autograd outputs: safe in place
            m = [self.state[params[i]]["exp_avg"][n] for i in ids]
            v = [self.state[params[i]]["exp_avg_sq"][n] for i in ids]
            torch._foreach_lerp_(m, g, 1 - beta1)
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, g, g, value=1 - beta2)

    def _apply(self, p: torch.Tensor, group: dict) -> None:
        """Lines 11-15 for one parameter tensor: bias corrections and the step."""
        beta1, beta2, _ = group["betas"]
        state = self.state[p]
        t = float(state["step"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        bias1, bias2 = 1 - beta1**t, 1 - beta2**t
        denominator = group["denominator"]
        if denominator == "own":
            p.add_((m / ((v / bias2).sqrt_().add_(group["eps"]))).sum(0), alpha=-group["lr"] / bias1)
            return
        # Two scratch tensors per parameter, reused every step (not state: nothing to save).
        numerator, denom = self._scratch.setdefault(p, (torch.empty_like(p), torch.empty_like(p)))
        torch.sum(m, 0, out=numerator)
        if denominator == "mean":
            torch.mean((v / bias2).sqrt_(), 0, out=denom)
            denom.add_(group["eps"])
        else:
            torch.amax(v, 0, out=denom)
            denom.div_(bias2).sqrt_().add_(group["eps"])
        p.addcdiv_(numerator, denom, value=-group["lr"] / bias1)
