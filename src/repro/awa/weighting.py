r"""The one interface of every loss-weighting method (AWA and its Table III competitors).

The training loop (:func:`repro.awa.experiments.run`) sees only this: it never asks
which method it holds.

``weights()``
    the six auxiliary weights :math:`\omega_j` now (a tensor, no graph);
``update(objective, batch, guide_batch, main, aux)``
    called once per training step with that step's forward, before the generator's update;
``needs_guidance``
    whether ``update`` needs a second, guidance batch (AWA's :math:`\mathcal L_c` batch);
``skipped``
    how many updates were skipped because their signal was unusable (0 for methods that never skip);
``generator_lr_changed(lr)``
    told when the generator's learning rate changes (CTSDG's fine-tuning stage); AWA's look-ahead
    step follows it, the other methods ignore it.
"""
from __future__ import annotations

import torch


class LossWeighting:
    """Base class of the loss-weighting methods; see the module docstring."""

    needs_guidance: bool = False
    skipped: int = 0

    def weights(self) -> torch.Tensor:
        raise NotImplementedError

    def update(self, objective, batch, guide_batch, main: torch.Tensor, aux: torch.Tensor) -> None:
        raise NotImplementedError

    def to(self, device) -> "LossWeighting":
        return self

    def generator_lr_changed(self, lr: float) -> None:
        """The generator's learning rate is now ``lr``; nothing to do unless a method follows it."""
