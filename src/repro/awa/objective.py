r"""One inpainting training objective, seen as a function of the generator's parameters.

A reweighting method needs more than the loss value: gradients of single terms, the same
losses at look-ahead parameters, directional derivatives. :class:`InpaintingObjective` gives
them all, for a chosen parameter set :math:`P` — every generator parameter (the paper's form)
or the final 1x1 convolution only (the official code's choice) — through
:func:`torch.func.functional_call`, so look-ahead parameters never touch the real module.

The core computation of AWA (and GradSim) is the vector of inner products
:math:`d_j = \langle v, \nabla_P L_j(\theta)\rangle` between a direction :math:`v` and the
gradient of each auxiliary term :math:`L_j`, i.e. the Jacobian-vector product
:math:`J_{aux}(\theta)\, v`. :meth:`InpaintingObjective.inner_products` computes it two ways:

``method="jvp"``
    one forward-mode pass (:func:`torch.func.jvp`) of the loss vector along :math:`v`:
    all six terms at once, about the cost of one training step;
``method="backward"``
    one reverse-mode backward per term, then the dot products (the official code's approach).

Both give the same numbers (tests/test_awa.py); the benchmark in :mod:`repro.awa.benchmark`
times them.

Evaluations at substituted parameters (look-ahead, guidance, inner products) leave the module as
it was: a BatchNorm layer in training mode normalises with the batch's statistics there but does
not update its running statistics (:func:`batch_statistics_only`), so only the generator's own
training step moves them, as in plain training; forward-mode passes could not update them anyway.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, jvp

from repro.awa.losses import AuxiliaryTerms, MainWeights, composite, structure_loss, total_variation

PARAM_SETS = ("all", "last")
Params = dict  # name -> tensor


@contextlib.contextmanager
def batch_statistics_only(module: nn.Module):
    """Within the block, BatchNorm layers in training mode use the batch's statistics without updating
    their running statistics (layers in eval mode, e.g. frozen for fine-tuning, keep using theirs)."""
    layers = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training
              and m.track_running_stats]
    for m in layers:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in layers:
            m.track_running_stats = True


class InpaintingObjective:
    r"""Main loss (Eq. 1) and auxiliary-term vector (Eqs. 2-3) of a generator on a batch.

    Args:
        generator: an inpainting generator (:mod:`repro.zoo.inpainting`).
        discriminator: its PatchGAN (fixed while the generator's losses are evaluated).
        aux: the six auxiliary terms (VGG-16 pool1-pool3).
        params: ``"all"`` generator parameters that the auxiliary losses reach, or ``"last"``
            (the final 1x1 convolution).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, aux: AuxiliaryTerms,
                 main_weights: "MainWeights | None" = None, params: str = "all") -> None:
        if params not in PARAM_SETS:
            raise ValueError(f"params must be one of {PARAM_SETS}, got {params!r}")
        self.generator, self.discriminator, self.aux = generator, discriminator, aux
        self.lam = main_weights or MainWeights()
        if params == "last":
            prefix = next(n for n, m in generator.named_modules() if m is generator.last_layer())
            self.names = [f"{prefix}.{n}" for n, _ in generator.last_layer().named_parameters()]
        else:
            image_stage = getattr(generator, "image_stage", None)  # EdgeConnect: the losses reach G2 only
            self.names = [n for n, p in generator.named_parameters()
                          if p.requires_grad and (image_stage is None or n.startswith("image_stage."))]
        self._reference: tuple = (None, None)  # (target tensor, its VGG features)
        named = dict(generator.named_parameters())
        self.params: list[torch.Tensor] = [named[n] for n in self.names]

    # -- the losses ------------------------------------------------------------------------------
    def losses(self, batch: tuple, params: "Params | None" = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(main, aux, output)`` on ``batch = (target, mask)``, at the generator's own
        parameters or with ``params`` (names of :attr:`names` -> tensors) substituted."""
        target, mask = batch
        x = target * (1 - mask)
        if params is None:
            out = self.generator(x, mask)
        else:
            with batch_statistics_only(self.generator):
                out = functional_call(self.generator, params, (x, mask))
        return (*self._losses(out, target, mask), out.image)

    def _losses(self, out, target: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lam = self.lam
        image = out.image
        comp = composite(image, target, mask)
        l1 = (lam.valid * ((1 - mask) * (image - target)).abs().mean() + lam.hole * (mask * (image - target)).abs().mean()
              + lam.structure * structure_loss(out, target))
        adv = F.softplus(-self.discriminator(image)).mean()  # non-saturating GAN loss
        main = l1 + lam.adv * adv + (lam.tv * total_variation(comp) if lam.tv else 0)
        return main, self.aux(image, comp, target, self.reference_features(target))

    def reference_features(self, target: torch.Tensor) -> list:
        """The target's VGG features, computed once per batch tensor."""
        if self._reference[0] is not target:
            self._reference = (target, self.aux.target_features(target))
        return self._reference[1]

    def aux_terms(self, batch: tuple, params: Params) -> torch.Tensor:
        return self.losses(batch, params)[1]

    # -- gradients and look-ahead ----------------------------------------------------------------
    def current(self) -> Params:
        """The parameters of :attr:`names`, detached copies."""
        return {n: p.detach().clone() for n, p in zip(self.names, self.params)}

    def grad(self, loss: torch.Tensor, params: "Params | None" = None, retain_graph: bool = True) -> Params:
        r""":math:`\nabla_P` loss (zeros where it does not reach)."""
        tensors = self.params if params is None else list(params.values())
        grads = torch.autograd.grad(loss, tensors, retain_graph=retain_graph, allow_unused=True)
        return {n: torch.zeros_like(t) if g is None else g for n, t, g in zip(self.names, tensors, grads)}

    def inner_products(self, batch: tuple, params: Params, direction: Params, method: str = "jvp",
                       graph: "torch.Tensor | None" = None) -> torch.Tensor:
        r""":math:`d_j = \langle v, \nabla_P L_j\rangle` for the six auxiliary terms at ``params``.

        ``method="backward"`` may reuse ``graph``, the auxiliary vector of a forward already made at
        these parameters (its graph retained).
        """
        if method == "jvp":
            primals = {n: params[n].detach() for n in self.names}
            tangents = {n: direction[n].detach() for n in self.names}
            with torch.no_grad(), warnings.catch_warnings():  # forward mode needs no reverse-mode graph
                # torch's first forward-mode call scripts its JVP decompositions and warns that
                # torch.jit.script is deprecated: an internal detail, not the caller's concern.
                warnings.filterwarnings("ignore", message=".*torch.jit.script.*deprecated", category=FutureWarning)
                _, d = jvp(lambda p: self.aux_terms(batch, p), (primals,), (tangents,))
            return d
        if method == "backward":
            if graph is None:
                leaf = {n: params[n].detach().requires_grad_(True) for n in self.names}
                graph = self.aux_terms(batch, leaf)
                tensors = list(leaf.values())
            else:
                tensors = list(params.values())
            out = []
            for j in range(len(graph)):
                grads = torch.autograd.grad(graph[j], tensors, retain_graph=True, allow_unused=True)
                out.append(sum((g * direction[n]).sum() for n, g in zip(self.names, grads) if g is not None))
            return torch.stack([torch.as_tensor(o, dtype=graph.dtype) for o in out]).detach()
        raise ValueError(f"method must be 'jvp' or 'backward', got {method!r}")

    def term_gradients(self, aux: torch.Tensor) -> list[Params]:
        r""":math:`\nabla_P L_j` for each auxiliary term of a retained forward (one backward each)."""
        return [self.grad(aux[j]) for j in range(len(aux))]


def guidance_metric(name: str, lpips_model: "nn.Module | None" = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    r""":math:`\mathcal L_c`: ``"lpips"`` (LPIPS-VGG, the paper's choice) or ``"mae"`` on [-1, 1] images."""
    if name == "lpips":
        if lpips_model is None:
            raise ValueError("guidance 'lpips' needs the LPIPS-VGG model (create_model('lpips_vgg', pretrained=True))")
        return lambda fake, real: lpips_model(fake, real).mean()
    if name == "mae":
        return lambda fake, real: (fake - real).abs().mean() / 2
    raise ValueError(f"unknown guidance metric {name!r}; valid: lpips, mae")
