"""Frozen backbones stay in eval mode whatever ``.train()`` is called with."""
from __future__ import annotations

import torch.nn as nn


class FrozenModule(nn.Module):
    """A module whose parameters never need gradients and which never leaves eval mode.

    Gradients still flow *through* it to its inputs (perceptual losses need that).
    """

    def freeze(self) -> "FrozenModule":
        for p in self.parameters():
            p.requires_grad_(False)
        return self.train(False)

    def train(self, mode: bool = True) -> "FrozenModule":  # noqa: ARG002 - deliberately ignored
        return super().train(False)
