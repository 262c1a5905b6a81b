"""The optimisers MTAdam is compared with, behind one interface: ``opt.step(losses)``.

The paper's baselines (SGD with momentum, RMSProp, Adam) optimise the *sum* of the weighted loss
terms; MTAdam receives the terms separately. :class:`SummedTerms` gives the standard optimisers
MTAdam's ``step(losses)`` interface, so training loops never branch on the optimiser.
"""
from __future__ import annotations

import functools
import operator
from typing import Sequence

import torch
import torch.nn as nn

from repro.mtadam.optimizer import MTAdam

BASELINES = ("SGD-Momentum", "RMSProp", "Adam", "MTAdam")


class SummedTerms:
    """A torch optimiser stepping on the sum of the loss terms (one backward)."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer

    def step(self, losses: Sequence[torch.Tensor]) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        total = functools.reduce(operator.add, losses)  # left to right: ((f1 + f2) + f3) ...
        total.backward()
        self.optimizer.step()
        return total.detach()


def make_optimizer(name: str, module: nn.Module, lr: float, betas: tuple[float, float] = (0.9, 0.999), momentum: float = 0.9,
                   **mtadam_options):
    """One of :data:`BASELINES` for ``module``, with ``step(losses)``.

    SGD gets ``momentum``; Adam ``betas``; MTAdam ``betas`` plus its default beta3 = 0.9 and
    ``mtadam_options`` (e.g. a Table 5 variant from :data:`repro.mtadam.ABLATIONS`);
    RMSProp PyTorch's defaults besides ``lr``.
    """
    if mtadam_options and name != "MTAdam":
        raise ValueError(f"options {sorted(mtadam_options)} apply to MTAdam only, not {name!r}")
    if name == "SGD-Momentum":
        return SummedTerms(torch.optim.SGD(module.parameters(), lr=lr, momentum=momentum))
    if name == "RMSProp":
        return SummedTerms(torch.optim.RMSprop(module.parameters(), lr=lr))
    if name == "Adam":
        return SummedTerms(torch.optim.Adam(module.parameters(), lr=lr, betas=betas))
    if name == "MTAdam":
        return MTAdam(module, lr=lr, betas=(*betas, 0.9), **mtadam_options)
    raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(BASELINES)}")
