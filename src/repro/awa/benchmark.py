r"""The cost of an AWA step, measured in one run against a plain TPL/TSL step.

Three steps of the same generator on the same batch, timed back to back (median of
``repeats``), with the parameters held fixed so that both AWA variants compute the same
surrogate gradient:

``plain``
    forward, main loss + TPL/TSL with fixed weights, backward (a baseline training step);
``awa_per_term``
    plain + AWA's weight update with the inner products :math:`\langle v, \nabla L_j\rangle`
    from one backward per auxiliary term (the official code's approach; the step's forward is
    reused, so this is its cheapest form);
``awa_fast``
    the same with all six inner products from one forward-mode JVP along :math:`v`.

It also times the inner products alone (JVP vs the six backwards) and checks that the two
surrogate gradients agree (largest relative difference). The work both AWA steps share (the
look-ahead, the guidance on a second batch, the generator's own step) bounds what any faster
inner product can gain: ``best possible fast / per-term`` is the ratio a JVP of zero cost would
reach. Ratios, not seconds, are the result:
both come from the same process on the same machine.

**The floor of an exact AWA step** (``K = 1``): the work it cannot avoid, each part timed on its own
in the same run: the step's forward and backward (the generator's own update), one more backward
(the look-ahead gradient, from the same retained forward), the guidance (the look-ahead
generator's forward on the second batch, LPIPS-VGG and its backward) and one JVP of the six terms
(its own primal forward included). ``fast AWA step / floor`` says how close the implementation
comes to it; :func:`run` reports it for both forms: gradients over every generator parameter (the
paper's) and over the last layer only (the official code's).

Stored like any experiment (:func:`run`, ``awa/step_costs``; sizes per scale in
:class:`StepCostConfig`), so a rebuilt book does not time it again. It reads nothing under
``data_root``: the batches are photo-bank crops at every scale.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import pandas as pd
import torch

from repro.awa.awa import AWA, AWAConfig
from repro.awa.losses import AuxiliaryTerms, composite
from repro.awa.objective import InpaintingObjective, guidance_metric
from repro.config import ExperimentConfig, Scale
from repro.data.masks import irregular_mask
from repro.data.photos import random_crops
from repro.numerics import floating
from repro.runtime import device, median_seconds
from repro.store import experiment
from repro.zoo import create_model


def step_costs(size: int = 64, batch: int = 8, width: int = 24, generator: str = "ctsdg_small",
               params: str = "all", repeats: int = 5, seed: int = 0) -> dict:
    """Time the three steps; returns ``{"table": DataFrame, "ratios": {...}, "max_rel_diff": float}``."""
    dev = device()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vgg = create_model("vgg16_features", pretrained=True, normalize=False).to(dev)
        lpips_model = create_model("lpips_vgg", pretrained=True).to(dev)
        gen = create_model(generator, width=width).to(dev)
        disc = create_model("inpainting_patchgan", width=2 * width).to(dev)
    images = random_crops(2 * batch, size, seed=seed).to(dev) * 2 - 1
    masks = torch.stack([floating(torch.from_numpy(irregular_mask(size, 1 + i % 5, seed=seed + i)))[None]
                         for i in range(2 * batch)]).to(dev)
    train, guide = (images[:batch], masks[:batch]), (images[batch:], masks[batch:])
    objective = InpaintingObjective(gen, disc, AuxiliaryTerms(vgg), params=params)
    methods = {inner: AWA(AWAConfig(params=params, inner=inner), guidance_metric("lpips", lpips_model), lr=2e-4).to(dev)
               for inner in ("backward", "jvp")}
    found = {}

    def plain() -> None:
        main, aux, _ = objective.losses(train)
        gen.zero_grad(set_to_none=True)
        (main + (methods["jvp"].weights() * aux).sum()).backward()

    def awa_step(inner: str) -> None:
        method = methods[inner]
        main, aux, _ = objective.losses(train)
        d = method.surrogate_inner_products(objective, train, guide, main, aux)
        method.tunable.zero_grad(set_to_none=True)
        (-(method.tunable() * d).sum()).backward()  # Eq. 8's gradient; the weights are not stepped
        found[inner] = method.tunable.logits.grad.clone()
        gen.zero_grad(set_to_none=True)
        (main + (method.weights() * aux).sum()).backward()

    theta = objective.current()
    v = {n: torch.randn_like(t) for n, t in theta.items()}

    def inner_only(inner: str) -> None:
        main, aux, _ = objective.losses(train)
        if inner == "jvp":
            objective.inner_products(train, theta, v, "jvp")
        else:
            objective.inner_products(train, dict(zip(objective.names, objective.params)), v, "backward", graph=aux)

    def forward_only() -> None:
        with torch.no_grad():
            objective.losses(train)

    def forward_graph() -> None:
        objective.losses(train)

    look = {n: t.detach().requires_grad_(True) for n, t in theta.items()}
    guide_metric = methods["jvp"].guide

    def guidance() -> None:
        target, mask = guide
        _, _, fake = objective.losses(guide, look)
        objective.grad(guide_metric(composite(fake, target, mask), target), look, retain_graph=False)

    def jvp_only() -> None:
        objective.inner_products(train, theta, v, "jvp")

    seconds = {
        "forward only (losses, no graph)": median_seconds(forward_only, repeats),
        "plain TPL/TSL step": median_seconds(plain, repeats),
        "AWA step, one backward per term": median_seconds(lambda: awa_step("backward"), repeats),
        "AWA step, one JVP (fast)": median_seconds(lambda: awa_step("jvp"), repeats),
        "inner products: one backward per term (+ forward)": median_seconds(lambda: inner_only("backward"), repeats),
        "inner products: one JVP (+ forward)": median_seconds(lambda: inner_only("jvp"), repeats),
        "floor part: forward with graph": median_seconds(forward_graph, repeats),
        "floor part: guidance forward and backward": median_seconds(guidance, repeats),
        "floor part: one JVP (its own primal forward)": median_seconds(jvp_only, repeats),
    }
    a, b = found["backward"], found["jvp"]
    rel = float(((a - b).abs() / a.abs().clamp_min(1e-12)).max())
    plain_s = seconds["plain TPL/TSL step"]
    table = pd.DataFrame([{"step": k, "seconds": s, "x plain step": s / plain_s} for k, s in seconds.items()])
    ratios = {
        "fast / per-term AWA step": seconds["AWA step, one JVP (fast)"] / seconds["AWA step, one backward per term"],
        "fast AWA / plain step": seconds["AWA step, one JVP (fast)"] / plain_s,
        "per-term AWA / plain step": seconds["AWA step, one backward per term"] / plain_s,
        "JVP / per-term inner products": seconds["inner products: one JVP (+ forward)"]
        / seconds["inner products: one backward per term (+ forward)"],
    }
    # What both AWA steps spend outside the inner products (look-ahead, guidance, generator step):
    # even a JVP that cost nothing could not bring the fast step below shared / per-term.
    backwards_only = seconds["inner products: one backward per term (+ forward)"] - seconds["forward only (losses, no graph)"]
    shared = seconds["AWA step, one backward per term"] - backwards_only
    ratios["best possible fast / per-term (a free JVP)"] = shared / seconds["AWA step, one backward per term"]
    backward = max(plain_s - seconds["floor part: forward with graph"], 0.0)
    floor = (plain_s + backward + seconds["floor part: guidance forward and backward"]
             + seconds["floor part: one JVP (its own primal forward)"])
    ratios["fast AWA step / floor"] = seconds["AWA step, one JVP (fast)"] / floor
    setting = {"size": size, "batch": batch, "generator": generator, "width": width, "params": params,
               "device": str(dev), "threads": torch.get_num_threads(), "repeats": repeats}
    return {"table": table, "ratios": ratios, "max_rel_diff": rel, "setting": setting, "floor_seconds": floor}


@dataclasses.dataclass(frozen=True)
class StepCostConfig(ExperimentConfig):
    """The benchmark's setting: crop ``size``, ``batch``, the generator and its ``width``, ``repeats``."""

    size: int = 64
    batch: int = 8
    width: int = 24
    generator: str = "ctsdg_small"
    params: str = "all"
    repeats: int = 5

    NAME = "awa.step_costs"
    VERSION = 2  # 2: the floor of an exact step, for both parameter sets
    PRESETS: ClassVar[dict] = {Scale.SMOKE: dict(size=16, batch=2, width=4, repeats=1),
                               # cpu: Table I's own training setting (repro.awa.experiments, scale='cpu'): the step
                               # the book's AWA runs pay; 64x64, batch 8, width 24 took 3.5 of the AWA part's 12 minutes
                               Scale.CPU: dict(size=32, batch=6, width=16, repeats=5),
                               Scale.PAPER: dict(size=256, batch=6, width=64, repeats=10)}
    AT_LEAST_ONE = ("size", "batch", "width", "repeats")


#: The config of a scale (:meth:`ExperimentConfig.create`)
config = StepCostConfig.create


@experiment("awa/step_costs", benchmark=True)
def run(cfg: StepCostConfig) -> dict:
    """:func:`step_costs` at ``cfg``'s setting (the table as records), and under ``"floor"`` the
    measured fast step against its floor for both parameter sets (``cfg.params`` and the other)."""
    out = step_costs(cfg.size, cfg.batch, cfg.width, cfg.generator, cfg.params, cfg.repeats, cfg.seed)
    other = "last" if cfg.params == "all" else "all"
    second = step_costs(cfg.size, cfg.batch, cfg.width, cfg.generator, other, cfg.repeats, cfg.seed)
    floor = {params: {"fast AWA step (s)": float(o["table"].set_index("step").loc["AWA step, one JVP (fast)", "seconds"]),
                      "floor (s)": o["floor_seconds"], "fast AWA step / floor": o["ratios"]["fast AWA step / floor"],
                      "fast AWA / plain step": o["ratios"]["fast AWA / plain step"]}
             for params, o in ((cfg.params, out), (other, second))}
    return {**out, "table": out["table"].to_dict("records"), "floor": floor}
